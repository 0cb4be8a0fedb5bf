#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace cc::util {

/// @brief HTTP's optional whitespace (RFC 9110 §5.6.3): space and tab.
inline constexpr std::string_view ows = " \t";
/// @brief ASCII whitespace, as JSON text fields are trimmed.
inline constexpr std::string_view ascii_space = " \t\n\r\f\v";

/// @brief `s` without leading and trailing characters of `blanks`.
constexpr std::string_view trim(std::string_view s, std::string_view blanks = ascii_space) noexcept {
    while (!s.empty() && blanks.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && blanks.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

/// @brief ASCII lower case; other bytes unchanged (never locale-dependent).
constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// @brief `s` in ASCII lower case.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

/// @brief Code points, not bytes, of valid UTF-8: what a user counts as characters.
constexpr std::size_t utf8_length(std::string_view s) noexcept {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

}  // namespace cc::util
