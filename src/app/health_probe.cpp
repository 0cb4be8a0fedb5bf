#include "cc/app/health_probe.hpp"

#include "cc/net.hpp"

#include <boost/beast/ssl.hpp>

namespace cc::app {
namespace {

template <typename Stream>
bool get_healthz(Stream& stream, const std::string& host) {
    beast::error_code ec;
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, host);
    http::write(stream, req, ec);
    if (ec) return false;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    return !ec && res.result() == http::status::ok;
}

}  // namespace

bool probe_health(const std::string& host_port, bool tls) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    auto host = host_port.substr(0, colon);
    // A wildcard listen address is reached through loopback.
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "[::]") host = "::1";
    const auto port = host_port.substr(colon + 1);
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return false;
    stream.expires_after(std::chrono::seconds(3));
    stream.connect(endpoints, ec);
    if (ec) return false;
    if (!tls) return get_healthz(stream, host);
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream&> secure(stream, ctx);
    secure.handshake(ssl::stream_base::client, ec);
    return !ec && get_healthz(secure, host);
}

}  // namespace cc::app
