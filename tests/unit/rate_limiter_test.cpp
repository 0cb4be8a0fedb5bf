#include "cc/keys/rate_limiter.hpp"
#include "cc/keys/rate_limit_policy.hpp"

#include <gtest/gtest.h>

#include "cc/util/clock.hpp"
#include "cc/util/crypto.hpp"

using cc::keys::token_bucket;
using cc::util::millis;

TEST(RateLimiter, NewBucketAllowsBurstThenRefuses) {
    token_bucket bucket;
    const millis now = 1'700'000'000'000;
    millis retry = 0;
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.try_take(1, 5, now, retry)) << i;
    retry = 0;
    EXPECT_FALSE(bucket.try_take(1, 5, now, retry));
    EXPECT_GT(retry, 0);
    EXPECT_LE(retry, 1000);  // one token at 1/s
}

TEST(RateLimiter, RetryAfterPointsAtNextToken) {
    token_bucket bucket;
    millis retry = 0;
    ASSERT_TRUE(bucket.try_take(4, 1, 0, retry));
    ASSERT_FALSE(bucket.try_take(4, 1, 0, retry));
    EXPECT_EQ(retry, 250);  // 4 per second: a token every 250 ms
    ASSERT_FALSE(bucket.try_take(4, 1, 100, retry));
    EXPECT_NEAR(static_cast<double>(retry), 150.0, 1.0);
    EXPECT_TRUE(bucket.try_take(4, 1, 250, retry));
}

TEST(RateLimiter, RefillsAtPerSecond) {
    token_bucket bucket;
    millis retry = 0;
    millis t = 10'000;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(bucket.try_take(10, 10, t, retry));
    ASSERT_FALSE(bucket.try_take(10, 10, t, retry));
    // 10 per second: after 300 ms exactly three tokens are back.
    t += 300;
    EXPECT_TRUE(bucket.try_take(10, 10, t, retry));
    EXPECT_TRUE(bucket.try_take(10, 10, t, retry));
    EXPECT_TRUE(bucket.try_take(10, 10, t, retry));
    EXPECT_FALSE(bucket.try_take(10, 10, t, retry));
    EXPECT_GT(retry, 0);
}

TEST(RateLimiter, RefillIsCappedAtBurst) {
    token_bucket bucket;
    millis retry = 0;
    ASSERT_TRUE(bucket.try_take(100, 3, 0, retry));
    // An hour idle refills to the burst, not beyond.
    const millis later = 3'600'000;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.try_take(100, 3, later, retry)) << i;
    EXPECT_FALSE(bucket.try_take(100, 3, later, retry));
}

TEST(RateLimiter, ClockGoingBackwardsGrantsNothing) {
    token_bucket bucket;
    millis retry = 0;
    ASSERT_TRUE(bucket.try_take(1, 1, 5'000, retry));
    EXPECT_FALSE(bucket.try_take(1, 1, 1'000, retry));
    EXPECT_GT(retry, 0);
}

TEST(RateLimiter, SustainedRateMatchesPerSecond) {
    token_bucket bucket;
    millis retry = 0;
    int allowed = 0;
    // One request per millisecond for 10 s at 50/s with burst 5: 5 + 10 * 50 allowed.
    for (millis t = 0; t < 10'000; ++t) allowed += bucket.try_take(50, 5, t, retry) ? 1 : 0;
    EXPECT_GE(allowed, 500);
    EXPECT_LE(allowed, 505);
}

TEST(RateLimiter, ChargedEventsAreRepaidBeforeTheNextRequest) {
    token_bucket bucket;
    millis retry = 0;
    // A batch of 30 events on a bucket of 10 at 10/s: admitted, and 29 more charged.
    ASSERT_TRUE(bucket.try_take(10, 10, 0, retry));
    bucket.charge(29);
    // 20 tokens of debt: nothing for two seconds, then one token's worth.
    EXPECT_FALSE(bucket.try_take(10, 10, 0, retry));
    EXPECT_EQ(retry, 2100);
    EXPECT_FALSE(bucket.try_take(10, 10, 2000, retry));
    EXPECT_TRUE(bucket.try_take(10, 10, 2100, retry));
}

TEST(RateLimitPolicy, PlanWithoutLimitIsNeverRefused) {
    cc::keys::rate_limit_policy policy({{"pulse", {1, 1}}});
    cc::keys::key_usage usage("key_1", cc::util::sha256("cc_test"));
    const millis now = 1'700'000'000'000;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(policy.admit("command", usage, now)) << i;
}

TEST(RateLimitPolicy, RefusalSaysWholeSecondsToWaitAndBatchChargesEachEvent) {
    cc::keys::rate_limit_policy policy({{"pulse", {2, 2}}});
    cc::keys::key_usage usage("key_1", cc::util::sha256("cc_test"));
    const millis now = 1'700'000'000'000;
    EXPECT_FALSE(policy.admit("pulse", usage, now));
    policy.charge("pulse", usage, 5);  // a batch of six: four tokens of debt
    const auto wait = policy.admit("pulse", usage, now);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 3);  // 5 tokens short at 2/s: 2.5 s, rounded up
}
