#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "cc/util/crypto.hpp"
#include "cc/util/random.hpp"

namespace cc::auth {

/// @brief Shape of an inbound integration key: `cc_` + 32 random base62 + 6 base62 CRC32.
struct api_key_format {
    static constexpr std::string_view tag = "cc_";
    static constexpr std::size_t random_length = 32;
    static constexpr std::size_t checksum_length = 6;
    static constexpr std::size_t length = 3 + random_length + checksum_length;  // 41
    static constexpr std::size_t prefix_length = 11;                            // `cc_` + 8
};

/// @brief A newly generated key: the full value (shown once) and what is kept of it.
struct generated_key {
    std::string value;          ///< the full key, returned once to the caller
    std::string prefix;         ///< first 11 characters, shown in lists
    util::sha256_digest hash;   ///< the only form that is stored
};

/// @brief The 6-character base62 CRC32 checksum of the random part.
std::string api_key_checksum(std::string_view random_part);

/// @brief Generates a new key from `random` (OpenSSL's CSPRNG in production).
generated_key generate_api_key(util::random_source& random);

/// @brief True when `text` has the key's exact shape and a correct checksum.
/// Cheap and storage-free: a malformed key never reaches a lookup.
bool is_well_formed_api_key(std::string_view text) noexcept;

/// @brief The prefix shown in lists and messages (first 11 characters).
std::string api_key_prefix(std::string_view key);

/// @brief A new opaque key id: `key_` + 20 base62 characters.
std::string generate_key_id(util::random_source& random);

}  // namespace cc::auth
