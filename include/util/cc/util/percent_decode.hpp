#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cc::util {

/// @brief The value of one hexadecimal digit, or -1 when `c` is not one.
int hex_value(char c) noexcept;

/// @brief Percent-decodes `in` into `out` (cleared first, so a caller can reuse its buffer);
/// false on a malformed escape. `plus_is_space` for form bodies and query strings.
bool percent_decode_into(std::string_view in, bool plus_is_space, std::string& out);

/// @brief Percent-decodes a URL component; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

}  // namespace cc::util
