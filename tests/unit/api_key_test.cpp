#include "cc/auth/api_key.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "support/lcg_random.hpp"

using namespace cc;
using auth::api_key_format;

namespace {

using cc::testing::lcg_random;

constexpr std::string_view alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool all_base62(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return alphabet.find(c) != std::string_view::npos; });
}

/// The test's own base62: big-endian, zero-padded to `width`, independent of cc::util.
std::string my_base62(std::uint64_t value, std::size_t width) {
    std::string digits;
    while (value > 0) {
        digits.push_back(alphabet[value % 62]);
        value /= 62;
    }
    while (digits.size() < width) digits.push_back('0');
    std::reverse(digits.begin(), digits.end());
    return digits;
}

/// The checksum computed independently with zlib's crc32.
std::string my_checksum(std::string_view random_part) {
    const uLong crc = ::crc32(0L, reinterpret_cast<const Bytef*>(random_part.data()),
                              static_cast<uInt>(random_part.size()));
    return my_base62(static_cast<std::uint64_t>(crc), 6);
}

std::string make_key(const std::string& random_part) {
    return "cc_" + random_part + my_checksum(random_part);
}

/// Another base62 character than `c`.
char other_base62(char c) {
    return c == 'a' ? 'b' : 'a';
}

}  // namespace

TEST(ApiKeyFormat, GeneratedKeyHasTagRandomPartAndChecksum) {
    lcg_random random(1);
    const auto key = auth::generate_api_key(random);
    ASSERT_EQ(key.value.size(), 41u);
    EXPECT_EQ(key.value.substr(0, 3), "cc_");
    EXPECT_TRUE(all_base62(key.value.substr(3, 32)));
    EXPECT_TRUE(all_base62(key.value.substr(35, 6)));
}

TEST(ApiKeyFormat, ChecksumIsBase62OfZlibCrc32OfRandomPart) {
    lcg_random random(2);
    for (int i = 0; i < 50; ++i) {
        const auto key = auth::generate_api_key(random);
        const auto random_part = key.value.substr(3, 32);
        EXPECT_EQ(key.value.substr(35), my_checksum(random_part)) << key.value;
        EXPECT_EQ(auth::api_key_checksum(random_part), my_checksum(random_part));
    }
}

TEST(ApiKeyFormat, ChecksumIsZeroPaddedToSixCharacters) {
    // crc32("") == 0, so the checksum is all padding.
    EXPECT_EQ(auth::api_key_checksum(""), "000000");
    // The largest CRC still fits: 2^32-1 is "4gfFC3" in base62.
    EXPECT_EQ(my_base62(0xFFFFFFFFu, 6), "4gfFC3");
    const std::string part(32, 'A');
    EXPECT_EQ(auth::api_key_checksum(part).size(), 6u);
    EXPECT_EQ(auth::api_key_checksum(part), my_checksum(part));
}

TEST(ApiKeyFormat, GeneratedKeysAreWellFormed) {
    lcg_random random(3);
    for (int i = 0; i < 100; ++i) {
        const auto key = auth::generate_api_key(random);
        EXPECT_TRUE(auth::is_well_formed_api_key(key.value)) << key.value;
    }
}

TEST(ApiKeyFormat, IndependentlyBuiltKeyIsWellFormed) {
    EXPECT_TRUE(auth::is_well_formed_api_key(make_key("0123456789ABCDEFGHIJabcdefghij01")));
}

TEST(ApiKeyFormat, WrongLengthIsRejected) {
    const auto good = make_key("0123456789ABCDEFGHIJabcdefghij01");
    ASSERT_TRUE(auth::is_well_formed_api_key(good));
    EXPECT_FALSE(auth::is_well_formed_api_key(good.substr(0, 40)));
    EXPECT_FALSE(auth::is_well_formed_api_key(good + "0"));
    EXPECT_FALSE(auth::is_well_formed_api_key(""));
    // A 31-character random part with a correct checksum is still the wrong shape.
    EXPECT_FALSE(auth::is_well_formed_api_key(make_key("0123456789ABCDEFGHIJabcdefghij0")));
}

TEST(ApiKeyFormat, WrongTagIsRejected) {
    const std::string random_part = "0123456789ABCDEFGHIJabcdefghij01";
    const auto tail = random_part + my_checksum(random_part);
    EXPECT_FALSE(auth::is_well_formed_api_key("CC_" + tail));
    EXPECT_FALSE(auth::is_well_formed_api_key("ck_" + tail));
    EXPECT_FALSE(auth::is_well_formed_api_key("cc-" + tail));
    EXPECT_FALSE(auth::is_well_formed_api_key("ccc" + tail));
}

TEST(ApiKeyFormat, NonBase62CharactersAreRejectedEvenWithMatchingCrc) {
    // The checksum is computed over the bad random part, so only the alphabet rule can refuse it.
    for (const char bad : {'_', '-', '+', '/', ' ', '=', '\0'}) {
        std::string random_part = "0123456789ABCDEFGHIJabcdefghij01";
        random_part[7] = bad;
        EXPECT_FALSE(auth::is_well_formed_api_key(make_key(random_part))) << int(bad);
    }
    std::string non_ascii = "0123456789ABCDEFGHIJabcdefghij01";
    non_ascii[0] = static_cast<char>(0xC3);
    EXPECT_FALSE(auth::is_well_formed_api_key(make_key(non_ascii)));
}

TEST(ApiKeyFormat, NonBase62ChecksumCharacterIsRejected) {
    auto key = make_key("0123456789ABCDEFGHIJabcdefghij01");
    key[40] = '_';
    EXPECT_FALSE(auth::is_well_formed_api_key(key));
}

TEST(ApiKeyFormat, FlippedChecksumCharacterIsRejected) {
    lcg_random random(4);
    const auto key = auth::generate_api_key(random).value;
    for (std::size_t i = 35; i < 41; ++i) {
        auto bad = key;
        bad[i] = other_base62(bad[i]);
        EXPECT_FALSE(auth::is_well_formed_api_key(bad)) << bad;
    }
}

TEST(ApiKeyFormat, FlippedRandomCharacterIsRejected) {
    lcg_random random(5);
    const auto key = auth::generate_api_key(random).value;
    for (std::size_t i = 3; i < 35; ++i) {
        auto bad = key;
        bad[i] = other_base62(bad[i]);
        EXPECT_FALSE(auth::is_well_formed_api_key(bad)) << bad;
    }
}

TEST(ApiKeyPrefix, IsFirstElevenCharacters) {
    lcg_random random(6);
    const auto key = auth::generate_api_key(random);
    EXPECT_EQ(key.prefix.size(), 11u);
    EXPECT_EQ(key.prefix, key.value.substr(0, 11));
    EXPECT_EQ(auth::api_key_prefix(key.value), key.value.substr(0, 11));
    EXPECT_EQ(api_key_format::prefix_length, 11u);
}

TEST(ApiKeyHash, IsSha256OfTheFullValue) {
    lcg_random random(7);
    const auto key = auth::generate_api_key(random);
    unsigned char expected[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.value.data()), key.value.size(), expected);
    ASSERT_EQ(key.hash.size(), static_cast<std::size_t>(SHA256_DIGEST_LENGTH));
    EXPECT_TRUE(std::equal(key.hash.begin(), key.hash.end(), expected));
}

TEST(ApiKeyId, StartsWithKeyAndIsBase62) {
    lcg_random random(8);
    const auto key = auth::generate_api_key(random);
    for (int i = 0; i < 20; ++i) {
        const auto id = auth::generate_key_id(random);
        ASSERT_TRUE(id.starts_with("key_")) << id;
        EXPECT_EQ(id.size(), 24u);
        EXPECT_TRUE(all_base62(id.substr(4))) << id;
        // The id never reveals the key.
        EXPECT_EQ(id.find(key.value.substr(3, 8)), std::string::npos);
    }
}

TEST(ApiKeyGeneration, ThousandKeysAreDistinct) {
    std::set<std::string> values;
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        values.insert(auth::generate_api_key(util::system_random()).value);
        ids.insert(auth::generate_key_id(util::system_random()));
    }
    EXPECT_EQ(values.size(), 1000u);
    EXPECT_EQ(ids.size(), 1000u);
}

TEST(ApiKeyGeneration, FixedRandomnessGivesTheSameKey) {
    lcg_random a(9);
    lcg_random b(9);
    EXPECT_EQ(auth::generate_api_key(a).value, auth::generate_api_key(b).value);
}
