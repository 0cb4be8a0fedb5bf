// Fuzzes the inbound key's shape check and checksum (SPEC section 1: `cc_` + 32 base62 +
// 6 base62 of CRC32 of the 32, left-padded with '0'), against an independent model:
// a bitwise CRC-32 and a plain base62 written here, not the service's.
//
// Input: any bytes. They are tried as a key as they are, and also mapped onto a
// well-formed key, which must then be accepted, and fail once any character changes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cc/auth/api_key.hpp"

namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

[[noreturn]] void broken(const char* rule, std::string_view detail) {
    std::fprintf(stderr, "api key rule broken: %s [%.*s]\n", rule, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

/// @brief CRC-32 (IEEE 802.3, reflected, as zlib computes it), one bit at a time.
std::uint32_t model_crc32(std::string_view bytes) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char byte : bytes) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::string model_checksum(std::string_view random_part) {
    std::uint64_t n = model_crc32(random_part);
    std::string out(6, '0');
    for (std::size_t i = 6; i-- > 0 && n > 0;) {
        out[i] = alphabet[n % 62];
        n /= 62;
    }
    return out;
}

bool model_well_formed(std::string_view text) {
    if (text.size() != 41 || text.substr(0, 3) != "cc_") return false;
    for (char c : text.substr(3)) {
        if (alphabet.find(c) == std::string_view::npos) return false;
    }
    return model_checksum(text.substr(3, 32)) == text.substr(35);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    // 1. The raw input as a presented key: same verdict as the model.
    if (cc::auth::is_well_formed_api_key(text) != model_well_formed(text)) broken("verdict differs from the model", text);

    // 2. The checksum of any text: 6 base62 characters, equal to the model's.
    const auto checksum = cc::auth::api_key_checksum(text);
    if (checksum != model_checksum(text)) broken("checksum differs from the model", checksum);

    // 3. A key built from the input: accepted; any single change to it refused.
    std::string random_part(32, '0');
    for (std::size_t i = 0; i < 32 && i < size; ++i) random_part[i] = alphabet[data[i] % 62];
    std::string key = "cc_" + random_part + cc::auth::api_key_checksum(random_part);
    if (!cc::auth::is_well_formed_api_key(key)) broken("a correctly built key is refused", key);
    if (cc::auth::api_key_prefix(key) != key.substr(0, 11)) broken("prefix is the first 11 characters", key);
    if (size > 32) {
        std::string changed = key;
        const std::size_t at = 3 + data[32] % 38;
        changed[at] = alphabet[(alphabet.find(changed[at]) + 1 + (size > 33 ? data[33] % 61 : 0)) % 62];
        // A changed checksum character, or a changed random character (CRC-32 detects every
        // single-character change of the random part).
        if (cc::auth::is_well_formed_api_key(changed)) broken("a one-character change is accepted", changed);
        changed = key;
        changed.push_back('0');
        if (cc::auth::is_well_formed_api_key(changed)) broken("a longer key is accepted", changed);
        if (cc::auth::is_well_formed_api_key(std::string_view(key).substr(0, 40))) broken("a shorter key is accepted", key);
    }
    return 0;
}
