#include "cc/app/health_probe.hpp"

#include "cc/net.hpp"

namespace cc::app {

bool probe_health(const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    auto host = host_port.substr(0, colon);
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
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, host);
    http::write(stream, req, ec);
    if (ec) return false;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    return !ec && res.result() == http::status::ok;
}

}  // namespace cc::app
