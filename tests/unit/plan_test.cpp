#include "cc/keys/plan.hpp"

#include <gtest/gtest.h>

using namespace cc::keys;

TEST(PlanLimit, KnownPlansHaveTheirLimits) {
    EXPECT_EQ(key_limit("pulse"), 2);
    EXPECT_EQ(key_limit("signal"), 5);
    EXPECT_EQ(key_limit("clarity"), 10);
    EXPECT_FALSE(key_limit("command").has_value());  // unlimited
}

TEST(PlanLimit, MayAddKeyBelowLimitOnly) {
    EXPECT_TRUE(may_add_key("pulse", 0));
    EXPECT_TRUE(may_add_key("pulse", 1));
    EXPECT_FALSE(may_add_key("pulse", 2));
    EXPECT_FALSE(may_add_key("pulse", 3));
    EXPECT_TRUE(may_add_key("signal", 4));
    EXPECT_FALSE(may_add_key("signal", 5));
    EXPECT_TRUE(may_add_key("clarity", 9));
    EXPECT_FALSE(may_add_key("clarity", 10));
}

TEST(PlanLimit, CommandIsUnlimited) {
    EXPECT_TRUE(may_add_key("command", 0));
    EXPECT_TRUE(may_add_key("command", 10));
    EXPECT_TRUE(may_add_key("command", 1'000'000));
}

TEST(PlanLimit, OverLimitAfterDowngradeStillRefuses) {
    // A downgraded domain may hold more active keys than its plan allows.
    EXPECT_FALSE(may_add_key("pulse", 5));
    EXPECT_FALSE(may_add_key("signal", 10));
}

TEST(PlanNames, OnlyTheFourPlansAreKnown) {
    for (const char* plan : {"pulse", "signal", "clarity", "command"}) EXPECT_TRUE(is_plan(plan)) << plan;
    for (const char* plan : {"", "Pulse", "PULSE", "free", "enterprise", "pulse ", " signal"}) {
        EXPECT_FALSE(is_plan(plan)) << '"' << plan << '"';
    }
}

TEST(PlanNames, UnknownPlanAllowsNoKeys) {
    EXPECT_FALSE(may_add_key("free", 0));
    EXPECT_FALSE(may_add_key("", 0));
    const auto limit = key_limit("free");
    // Never "unlimited": an unknown plan must not open the gate.
    ASSERT_TRUE(limit.has_value());
    EXPECT_EQ(*limit, 0);
}
