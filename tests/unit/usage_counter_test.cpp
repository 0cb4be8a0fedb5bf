#include "cc/keys/usage_counter.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace cc::keys;

namespace {
constexpr cc::util::millis hour = usage_counter::hour_ms;
}

TEST(UsageCounter, CountsByKindAndHour) {
    usage_counter c;
    c.add(usage_kind::accepted, 10 * hour + 5);
    c.add(usage_kind::accepted, 10 * hour + 6, 2);
    c.add(usage_kind::auth_failed, 10 * hour + 7);
    c.add(usage_kind::duplicate, 11 * hour);
    std::vector<usage_counts> out;
    c.drain(out);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& u : out) {
        if (u.hour == 10) {
            EXPECT_EQ(u.counts[0], 3);
            EXPECT_EQ(u.counts[3], 1);
        } else {
            EXPECT_EQ(u.hour, 11);
            EXPECT_EQ(u.counts[1], 1);
        }
    }
    out.clear();
    c.drain(out);
    EXPECT_TRUE(out.empty()) << "a drain takes the counts";
}

TEST(UsageCounter, RestorePutsCountsBackForTheNextDrain) {
    usage_counter c;
    c.add(usage_kind::rejected, 3 * hour);
    std::vector<usage_counts> out;
    c.drain(out);
    ASSERT_EQ(out.size(), 1u);
    c.restore(out[0]);
    std::vector<usage_counts> again;
    c.drain(again);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].hour, 3);
    EXPECT_EQ(again[0].counts[2], 1);
}

TEST(UsageCounter, ConcurrentAddsAreNotLost) {
    usage_counter c;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&c] {
            for (int i = 0; i < 10'000; ++i) c.add(usage_kind::accepted, 5 * hour);
        });
    }
    std::int64_t drained = 0;
    std::vector<usage_counts> out;
    for (int i = 0; i < 50; ++i) {
        c.drain(out);
        std::this_thread::yield();
    }
    for (auto& t : threads) t.join();
    c.drain(out);
    for (const auto& u : out) drained += u.counts[0];
    EXPECT_EQ(drained, 40'000);
}
