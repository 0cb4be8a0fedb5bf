#include "cc/util/crypto.hpp"

#include <gtest/gtest.h>

using namespace cc::util;

TEST(Sha256, MatchesKnownVector) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
    EXPECT_TRUE(constant_time_equal("secret-token", "secret-token"));
    EXPECT_FALSE(constant_time_equal("secret-token", "secret-tokeN"));
    EXPECT_FALSE(constant_time_equal("Xecret-token", "secret-token"));
    EXPECT_FALSE(constant_time_equal("secret", "secret-token"));
    EXPECT_TRUE(constant_time_equal("", ""));
}
