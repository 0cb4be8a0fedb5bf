#pragma once
#include <optional>
#include <string>

namespace cc::app {

/// @brief GET /healthz on `host_port`; true on a 200 within 3 seconds. Used by the
/// container's HEALTHCHECK so the image needs no curl.
/// With `tls`, speaks HTTPS without verifying the certificate: the probe only asks
/// whether this very process answers, on its own address.
bool probe_health(const std::string& host_port, bool tls = false);

/// @brief Where `serve` records the address it listens on: beside the database, so a
/// HEALTHCHECK started with the container's environment finds a server whose address
/// was given on its command line.
std::string listen_record_path(const std::string& database);

/// @brief Writes `address` to listen_record_path(database), atomically; a failure
/// to write is not fatal (the probe then uses the configured address).
void record_listen_address(const std::string& database, const std::string& address);

/// @brief The address serve last recorded beside `database`, if any.
std::optional<std::string> recorded_listen_address(const std::string& database);

}  // namespace cc::app
