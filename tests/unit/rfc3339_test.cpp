#include "cc/util/rfc3339.hpp"

#include <gtest/gtest.h>

namespace {

using cc::util::format_rfc3339;
using cc::util::millis;
using cc::util::parse_rfc3339;

constexpr millis jan2_2026 = 1767323045678;  // 2026-01-02T03:04:05.678Z

TEST(Rfc3339Format, IsUtcWithThreeFractionDigits) {
    EXPECT_EQ(format_rfc3339(jan2_2026), "2026-01-02T03:04:05.678Z");
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(1767323045000), "2026-01-02T03:04:05.000Z");
}

TEST(Rfc3339Format, TimesBeforeTheEpochFloorToTheRightDay) {
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339Parse, ZuluAndLowerCaseSeparators) {
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.678Z"), jan2_2026);
    EXPECT_EQ(parse_rfc3339("2026-01-02t03:04:05.678z"), jan2_2026);
}

TEST(Rfc3339Parse, NumericOffsetsAreAppliedToReachUtc) {
    EXPECT_EQ(parse_rfc3339("2026-01-02T08:34:05.678+05:30"), jan2_2026);
    EXPECT_EQ(parse_rfc3339("2026-01-01T19:04:05.678-08:00"), jan2_2026);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.678+00:00"), jan2_2026);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.678-00:00"), jan2_2026);
}

TEST(Rfc3339Parse, FractionIsOptionalAndTruncatedToMilliseconds) {
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05Z"), 1767323045000);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.6Z"), 1767323045600);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.67Z"), 1767323045670);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.678999999Z"), jan2_2026);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.6789999999999999999999999Z"), jan2_2026);
}

TEST(Rfc3339Parse, SpaceSeparatorAndMissingZoneAreRefused) {
    EXPECT_FALSE(parse_rfc3339("2026-01-02 03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05.678"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02"));
    EXPECT_FALSE(parse_rfc3339(""));
}

TEST(Rfc3339Parse, MalformedLayoutsAreRefused) {
    EXPECT_FALSE(parse_rfc3339("2026-1-02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("26-01-02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T3:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05.Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05ZZ"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05Z "));
    EXPECT_FALSE(parse_rfc3339(" 2026-01-02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05+0530"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05+05"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05+05:3"));
    EXPECT_FALSE(parse_rfc3339("2026/01/02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("+026-01-02T03:04:05Z"));
}

TEST(Rfc3339Parse, FieldRangesAreChecked) {
    EXPECT_FALSE(parse_rfc3339("2026-00-02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-13-02T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-00T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-32T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-04-31T03:04:05Z"));
    EXPECT_TRUE(parse_rfc3339("2026-04-30T03:04:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T24:00:00Z"));
    EXPECT_TRUE(parse_rfc3339("2026-01-02T23:59:59Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:60:05Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:61Z"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05+24:00"));
    EXPECT_FALSE(parse_rfc3339("2026-01-02T03:04:05+05:60"));
    EXPECT_TRUE(parse_rfc3339("2026-01-02T03:04:05+23:59"));
}

TEST(Rfc3339Parse, LeapYearsFollowTheGregorianRules) {
    EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
    EXPECT_FALSE(parse_rfc3339("2025-02-29T00:00:00Z"));
    EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));
    EXPECT_FALSE(parse_rfc3339("2100-02-29T00:00:00Z"));
}

TEST(Rfc3339Parse, LeapSecondOnlyInTheLastUtcMinuteReadAs59999) {
    constexpr millis end_of_2016 = 1483228799999;  // 2016-12-31T23:59:59.999Z
    EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), end_of_2016);
    EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60.5Z"), end_of_2016);
    EXPECT_EQ(parse_rfc3339("2016-12-31T18:59:60-05:00"), end_of_2016);
    EXPECT_FALSE(parse_rfc3339("2016-12-31T12:00:60Z"));
    EXPECT_FALSE(parse_rfc3339("2016-12-31T23:59:60+01:00"));
}

TEST(Rfc3339, FormatThenParseRoundTrips) {
    for (const millis at : {millis{0}, millis{-1}, jan2_2026, millis{951782400123}, millis{253402300799999}}) {
        EXPECT_EQ(parse_rfc3339(format_rfc3339(at)), at) << at;
    }
}

}  // namespace

TEST(Rfc3339, AnOffsetThatLeavesYear9999IsRefused) {
    // 23:59:30 at -23:59 on the last day of 9999 is in year 10000 in UTC.
    EXPECT_FALSE(cc::util::parse_rfc3339("9999-12-31t23:59:30-23:59").has_value());
    EXPECT_FALSE(cc::util::parse_rfc3339("0000-01-01T00:00:00+00:01").has_value());
    const auto last = cc::util::parse_rfc3339("9999-12-31T23:59:59.999Z");
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(cc::util::format_rfc3339(*last), "9999-12-31T23:59:59.999Z");
}
