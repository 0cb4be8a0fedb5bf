#pragma once
#include <string>

namespace cc::app {

/// @brief GET /healthz on `host_port`; true on a 200 within 3 seconds. Used by the
/// container's HEALTHCHECK so the image needs no curl.
/// With `tls`, speaks HTTPS without verifying the certificate: the probe only asks
/// whether this very process answers, on its own address.
bool probe_health(const std::string& host_port, bool tls = false);

}  // namespace cc::app
