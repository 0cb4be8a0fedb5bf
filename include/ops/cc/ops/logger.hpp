#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

#include "cc/util/json_text.hpp"

namespace cc::ops {

/// @brief Sets up the process logger: one JSON object per line on stdout.
/// @param level trace, debug, info, warn, error, critical or off
void init_logging(const std::string& level);

/// @brief Writes one log line: {"time","level","msg", ...fields}. Callers pass only
/// non-secret fields: never a full key, a key hash or an admin token.
void log(spdlog::level::level_enum level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

/// @brief One log line built member by member, with the same shape as log()'s
/// ({"time","level","msg", ...fields}) but no JSON document in between: for the lines
/// written on every request. Check should_log() first; then add fields and write().
class log_line {
public:
    log_line(spdlog::level::level_enum level, std::string_view msg);
    /// @brief Where the fields go.
    util::json_object_writer& fields() noexcept { return writer_; }
    /// @brief Closes the object and writes the line.
    void write();

private:
    spdlog::level::level_enum level_;
    std::string text_;
    util::json_object_writer writer_;
};

/// @brief Writes an info line whatever the configured level: start-up and shutdown
/// lines, which operators and scripts rely on (the listen address above all).
void log_lifecycle(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

/// @brief True when `level` would be written (to skip building fields for nothing).
bool should_log(spdlog::level::level_enum level);

/// @brief Writes buffered lines out (at start-up and shutdown).
void flush_logs();

}  // namespace cc::ops
