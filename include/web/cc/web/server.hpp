#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cc/web/server_options.hpp"

namespace cc::web {

class router;

/// @brief The HTTP/1.1 server: worker threads each running its own io_context, a
/// coroutine per connection on one of them, graceful draining. Never throws from the
/// network path; errors are error_codes.
class server {
public:
    explicit server(server_options options);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// @brief Listens on `host:port` (port 0 picks one) for `routes`, which must outlive
    /// the server. Returns the bound address. Throws std::runtime_error when it cannot bind.
    std::string listen(const std::string& host_port, const router& routes);

    /// @brief Serves on the worker threads until drained; returns when all have stopped.
    void run();

    /// @brief Starts a graceful stop, from any thread: stop accepting, close idle
    /// connections, let in-flight requests finish (bounded by the grace), then stop.
    void drain();

    /// @brief Loads the certificate and key again (SIGHUP): new connections use the new
    /// ones, open connections keep theirs. Throws std::runtime_error when they cannot be
    /// loaded, leaving the current ones in place.
    void reload_tls();

    /// @brief True when TLS is configured.
    bool tls_enabled() const noexcept;

    /// @brief True once draining has begun (readiness turns false).
    bool draining() const noexcept;

    /// @brief Open client connections.
    std::size_t connections() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace cc::web
