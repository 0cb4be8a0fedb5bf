#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cc/net.hpp"

#include <boost/asio/ssl/context.hpp>
#include "cc/web/router.hpp"
#include "cc/web/server_options.hpp"

namespace cc::web {

/// @brief What the server knows of one open connection, so that draining and the
/// connection cap can close idle ones. Touched only on the connection's thread,
/// except `idle`, which the server reads to pick a victim.
struct connection_slot {
    net::any_io_executor executor;
    beast::tcp_stream* stream = nullptr;  ///< null once the connection has ended
    std::atomic<bool> idle{true};         ///< waiting for a request, nothing in flight
    std::atomic<bool> evicted{false};     ///< chosen to make room: closes after any request in flight
};

/// @brief Shared state a connection needs from its server.
struct connection_env {
    const server_options& options;
    const router& routes;
    const std::atomic<bool>& draining;
};

/// @brief Serves one connection: reads requests (header limit, per-route body limit,
/// timeouts), routes them, writes responses with X-Request-Id, logs each one.
/// With `tls`, the connection speaks TLS (handshake first, under the header timeout).
net::awaitable<void> serve_connection(tcp::socket socket, connection_env env, std::shared_ptr<connection_slot> slot,
                                      std::shared_ptr<net::ssl::context> tls);

}  // namespace cc::web
