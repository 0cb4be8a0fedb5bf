#include "cc/app/health_probe.hpp"

#include "cc/net.hpp"

#include <cstdio>
#include <fstream>

#include <boost/beast/ssl.hpp>

namespace cc::app {
namespace {

/// @brief One GET /healthz on a connected stream; sets `healthy` on a 200.
template <typename Stream>
net::awaitable<void> get_healthz(Stream& stream, std::string host, bool& healthy) {
    beast::error_code ec;
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, host);
    co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, net::redirect_error(net::use_awaitable, ec));
    healthy = !ec && res.result() == http::status::ok;
}

net::awaitable<void> probe(std::string host, std::string port, bool tls, bool& healthy) {
    auto executor = co_await net::this_coro::executor;
    beast::error_code ec;
    tcp::resolver resolver(executor);
    const auto endpoints = co_await resolver.async_resolve(host, port, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    beast::tcp_stream stream(executor);
    co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    if (!tls) {
        co_await get_healthz(stream, host, healthy);
        co_return;
    }
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream&> secure(stream, ctx);
    co_await secure.async_handshake(ssl::stream_base::client, net::redirect_error(net::use_awaitable, ec));
    if (!ec) co_await get_healthz(secure, host, healthy);
}

}  // namespace

std::string listen_record_path(const std::string& database) { return database + ".listen"; }

void record_listen_address(const std::string& database, const std::string& address) {
    const auto path = listen_record_path(database);
    const auto temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << address << '\n';
        if (!out) return;
    }
    // rename() replaces the old record in one step, so a probe never reads half of it.
    std::rename(temporary.c_str(), path.c_str());
}

std::optional<std::string> recorded_listen_address(const std::string& database) {
    std::ifstream in(listen_record_path(database));
    std::string address;
    if (!(in >> address) || address.find(':') == std::string::npos) return std::nullopt;
    return address;
}

bool probe_health(const std::string& host_port, bool tls) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    auto host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    // A wildcard listen address is reached through loopback.
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    bool healthy = false;
    net::io_context ioc;
    net::co_spawn(ioc, probe(host, host_port.substr(colon + 1), tls, healthy), net::detached);
    // Whatever the server does, the probe gives its answer within 3 seconds.
    ioc.run_for(std::chrono::seconds(3));
    return healthy;
}

}  // namespace cc::app
