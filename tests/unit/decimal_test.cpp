#include "cc/events/decimal.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using cc::events::decimal_status;
using cc::events::decimal_to_double;
using cc::events::normalize_decimal;
using cc::events::parse_decimal;

std::string canonical(std::string_view text) {
    const auto result = parse_decimal(text);
    EXPECT_EQ(result.status, decimal_status::ok) << text;
    return result.text;
}

decimal_status status_of(std::string_view text) { return parse_decimal(text).status; }

TEST(Decimal, PlainNumbersAreCanonicalized) {
    EXPECT_EQ(canonical("99.99"), "99.99");
    EXPECT_EQ(canonical("0.5"), "0.5");
    EXPECT_EQ(canonical("100"), "100");
    EXPECT_EQ(canonical("1.50"), "1.5");
    EXPECT_EQ(canonical("1.0"), "1");
    EXPECT_EQ(canonical("10.000"), "10");
    EXPECT_EQ(canonical("0.0"), "0");
    EXPECT_EQ(canonical("0"), "0");
    EXPECT_EQ(canonical("0.05"), "0.05");
}

TEST(Decimal, ExponentsAreAppliedByMovingDigits) {
    EXPECT_EQ(canonical("1e3"), "1000");
    EXPECT_EQ(canonical("1E+3"), "1000");
    EXPECT_EQ(canonical("1.5E-2"), "0.015");
    EXPECT_EQ(canonical("12345e-2"), "123.45");
    EXPECT_EQ(canonical("0.001e3"), "1");
    EXPECT_EQ(canonical("2.5e0"), "2.5");
    EXPECT_EQ(canonical("9.99e1"), "99.9");
    EXPECT_EQ(canonical("1.2e-0"), "1.2");
}

TEST(Decimal, ExactTextIsPreservedWithoutBinaryRounding) {
    EXPECT_EQ(canonical("12345678901234567.25"), "12345678901234567.25");
    EXPECT_EQ(canonical("0.1"), "0.1");
    EXPECT_EQ(canonical("0.2"), "0.2");
    // What 0.1 + 0.2 gives as a double must stay that exact text, not become 0.3.
    EXPECT_EQ(canonical("0.30000000000000004"), "0.30000000000000004");
    EXPECT_EQ(canonical("999999999999999999.999999999999999999"), "999999999999999999.999999999999999999");
}

TEST(Decimal, NegativeZeroIsZero) {
    EXPECT_EQ(canonical("-0"), "0");
    EXPECT_EQ(canonical("-0.000"), "0");
    EXPECT_EQ(canonical("-0e5"), "0");
}

TEST(Decimal, NegativeValuesAreReportedApartFromNonNumbers) {
    EXPECT_EQ(status_of("-1"), decimal_status::negative);
    EXPECT_EQ(status_of("-0.01"), decimal_status::negative);
    EXPECT_EQ(status_of("-1e99999999"), decimal_status::negative);
    EXPECT_EQ(status_of("--1"), decimal_status::not_a_number);
    EXPECT_FALSE(normalize_decimal("-1"));
}

TEST(Decimal, NonNumbersAreRefused) {
    for (const char* text : {"", "+1", "NaN", "nan", "Infinity", "-Infinity", "inf", "0x10", "1,5", "1.2.3",
                             "1e", "1e+", "1e-", ".", "-", "-.", "e5", " 1", "1 ", "1_000", "\xd9\xa1",
                             "1 000", "$5", "5%", "1e5.5", "1ee5"}) {
        EXPECT_EQ(status_of(text), decimal_status::not_a_number) << text;
        EXPECT_FALSE(normalize_decimal(text)) << text;
    }
}

TEST(Decimal, LeadingZerosAndBarePointsAreTolerated) {
    EXPECT_EQ(canonical("007"), "7");
    EXPECT_EQ(canonical("00.50"), "0.5");
    EXPECT_EQ(canonical(".5"), "0.5");
    EXPECT_EQ(canonical("5."), "5");
}

TEST(Decimal, AtMostEighteenIntegerDigits) {
    EXPECT_EQ(canonical("999999999999999999"), "999999999999999999");
    EXPECT_EQ(status_of("1000000000000000000"), decimal_status::too_large);
    EXPECT_EQ(canonical("1e17"), "100000000000000000");
    EXPECT_EQ(status_of("1e18"), decimal_status::too_large);
    // Leading zeros are not digits of the value.
    EXPECT_EQ(canonical("0000000000000000000000001"), "1");
    EXPECT_EQ(status_of("18446744073709551615"), decimal_status::too_large);
}

TEST(Decimal, AtMostEighteenFractionDigits) {
    EXPECT_EQ(canonical("0.000000000000000001"), "0.000000000000000001");
    EXPECT_EQ(status_of("0.0000000000000000001"), decimal_status::too_precise);
    EXPECT_EQ(canonical("1e-18"), "0.000000000000000001");
    EXPECT_EQ(status_of("1e-19"), decimal_status::too_precise);
    // Trailing zeros are not digits of the value.
    EXPECT_EQ(canonical("1.5000000000000000000000000"), "1.5");
}

TEST(Decimal, HugeExponentsNeitherOverflowNorHang) {
    EXPECT_EQ(status_of("1e99999999999999999999999"), decimal_status::too_large);
    EXPECT_EQ(status_of("1e-99999999999999999999999"), decimal_status::too_precise);
    EXPECT_EQ(canonical("0e99999999999999999999999"), "0");
    const std::string long_zeros = "0." + std::string(100000, '0') + "1e100001";
    EXPECT_EQ(canonical(long_zeros), "1");
}

TEST(Decimal, NormalizeDecimalReturnsTheCanonicalText) {
    EXPECT_EQ(normalize_decimal("1.50"), "1.5");
    EXPECT_FALSE(normalize_decimal("1e19"));
    EXPECT_FALSE(normalize_decimal("abc"));
}

TEST(Decimal, ToDoubleIsForDisplayOnly) {
    EXPECT_DOUBLE_EQ(decimal_to_double("99.99"), 99.99);
    EXPECT_DOUBLE_EQ(decimal_to_double("1000"), 1000.0);
    EXPECT_DOUBLE_EQ(decimal_to_double("not a number"), 0.0);
    EXPECT_DOUBLE_EQ(decimal_to_double(""), 0.0);
}

}  // namespace
