#include "cc/util/base62.hpp"
#include "cc/util/random.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>

using namespace cc::util;

TEST(Base62, EncodesBigEndianWithPadding) {
    EXPECT_EQ(base62_encode(0, 6), "000000");
    EXPECT_EQ(base62_encode(61, 6), "00000z");
    EXPECT_EQ(base62_encode(62, 6), "000010");
    EXPECT_EQ(base62_encode(4294967295u, 6), "4gfFC3");
}

namespace {
/// Replays a fixed byte sequence, to check the sampling without a real CSPRNG.
class fixed_random final : public random_source {
public:
    explicit fixed_random(unsigned char byte) : byte_(byte) {}
    void fill(unsigned char* out, std::size_t size) override {
        for (std::size_t i = 0; i < size; ++i) {
            out[i] = (i % 2 == 0) ? 255 : byte_;  // 255 must be rejected, never mapped
        }
    }

private:
    unsigned char byte_;
};
}  // namespace

TEST(RandomBase62, RejectsBytesThatWouldBias) {
    fixed_random source(63);
    EXPECT_EQ(random_base62(source, 5), "11111");  // 63 % 62 == 1; every 255 skipped
}

TEST(RandomBase62, DrawsEveryCharacterRoughlyEvenly) {
    const std::string sample = random_base62(system_random(), 62 * 2000);
    std::map<char, int> counts;
    for (char c : sample) {
        ASSERT_TRUE(is_base62(c));
        ++counts[c];
    }
    ASSERT_EQ(counts.size(), 62u);
    for (const auto& [c, n] : counts) {
        EXPECT_GT(n, 1500) << c;  // expected 2000 each; a biased source skews some far off
        EXPECT_LT(n, 2500) << c;
    }
}
