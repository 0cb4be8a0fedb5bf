#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

namespace cc::ops {

/// @brief Sets up the process logger: one JSON object per line on stdout.
/// @param level trace, debug, info, warn, error, critical or off
void init_logging(const std::string& level);

/// @brief Writes one log line: {"time","level","msg", ...fields}. Callers pass only
/// non-secret fields: never a full key, a key hash or an admin token.
void log(spdlog::level::level_enum level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

/// @brief Writes an info line whatever the configured level: start-up and shutdown
/// lines, which operators and scripts rely on (the listen address above all).
void log_lifecycle(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

/// @brief True when `level` would be written (to skip building fields for nothing).
bool should_log(spdlog::level::level_enum level);

/// @brief Writes buffered lines out (at start-up and shutdown).
void flush_logs();

}  // namespace cc::ops
