#pragma once
#include <string_view>

namespace cc::events {

/// @brief True when `upper_code` is an active ISO 4217 alphabetic code (upper-case only;
/// the caller trims and upper-cases). The test and "no currency" codes XTS and XXX are
/// refused: they never price a real conversion.
bool is_iso4217(std::string_view upper_code) noexcept;

}  // namespace cc::events
