#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cc::util {

/// @brief The base62 alphabet in value order: 0-9, A-Z, a-z.
inline constexpr std::string_view base62_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// @brief True for a character of the base62 alphabet.
constexpr bool is_base62(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/// @brief Big-endian base62 of `value`, left-padded with '0' to `width` characters.
std::string base62_encode(std::uint64_t value, std::size_t width);

}  // namespace cc::util
