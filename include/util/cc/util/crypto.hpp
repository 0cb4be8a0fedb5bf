#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cc::util {

/// @brief A SHA-256 digest.
using sha256_digest = std::array<std::uint8_t, 32>;

/// @brief SHA-256 of `data` (OpenSSL).
sha256_digest sha256(std::string_view data);

/// @brief Lower-case hex of SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// @brief Lower-case hex encoding of raw bytes.
std::string to_hex(const std::uint8_t* data, std::size_t size);

/// @brief Compares two byte strings in time that depends only on their lengths,
/// never on where they first differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// @brief Overwrites a secret's bytes (OPENSSL_cleanse, which the optimizer cannot drop)
/// and empties the string, so a hashed token does not linger in the heap.
void cleanse(std::string& secret) noexcept;

}  // namespace cc::util
