#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "cc/util/clock.hpp"

namespace cc::util {

/// @brief Formats a time as RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z.
std::string format_rfc3339(millis at);

/// @brief Parses an RFC 3339 date-time (`T`/`t`, fractional seconds, `Z` or an offset)
/// into milliseconds since the epoch; nullopt when it is not one.
std::optional<millis> parse_rfc3339(std::string_view text);

}  // namespace cc::util
