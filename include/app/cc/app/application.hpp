#pragma once
#include "cc/config/config.hpp"

namespace cc::app {

/// @brief Runs the service until SIGTERM or SIGINT: opens and migrates storage, loads
/// the key index, serves HTTP, then drains, commits what was acked, flushes last-used
/// times and returns the exit code (0 on a clean stop). Wipes the admin tokens out of
/// `settings` once it has hashed them.
int serve(config::settings& settings);

/// @brief Applies the migrations and exits.
int migrate(const config::settings& settings);

}  // namespace cc::app
