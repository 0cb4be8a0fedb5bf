#pragma once
#include <string>
#include <vector>

namespace cc::web {

/// @brief The HTTP server's limits and timeouts, with their defaults; the configuration
/// holds them as they are.
struct http_limits {
    int header_timeout_ms = 10'000;
    int body_timeout_ms = 30'000;
    int idle_timeout_ms = 60'000;
    int max_connections = 10'000;
    int max_header_bytes = 16 * 1024;
    int shutdown_grace_ms = 10'000;
};

/// @brief Everything the HTTP server is started with.
struct server_options : http_limits {
    int threads = 1;
    std::vector<std::string> trusted_proxies;  ///< peers whose X-Forwarded-For is believed
    std::string tls_cert_file;                 ///< with tls_key_file: serve HTTPS only
    std::string tls_key_file;
};

}  // namespace cc::web
