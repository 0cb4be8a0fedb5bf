#include "cc/events/currency.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using cc::events::is_iso4217;

TEST(Currency, CommonCurrenciesAreKnown) {
    for (const char* code : {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "INR", "BRL", "MXN", "ZAR",
                             "AED", "KWD", "BHD", "ZMW"}) {
        EXPECT_TRUE(is_iso4217(code)) << code;
    }
}

TEST(Currency, FundsAndPreciousMetalCodesAreKnown) {
    for (const char* code : {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", "XDR", "XAU", "XAG",
                             "XPD", "XPT", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XAF", "XOF", "XPF", "XCD"}) {
        EXPECT_TRUE(is_iso4217(code)) << code;
    }
}

TEST(Currency, RecentlyIntroducedCodesAreKnown) {
    for (const char* code : {"VED", "VES", "SLE", "ZWG", "XCG", "MRU", "STN", "BYN"}) {
        EXPECT_TRUE(is_iso4217(code)) << code;
    }
}

TEST(Currency, TestAndNoCurrencyCodesAreRefused) {
    EXPECT_FALSE(is_iso4217("XTS"));
    EXPECT_FALSE(is_iso4217("XXX"));
}

TEST(Currency, WithdrawnAndInventedCodesAreRefused) {
    for (const char* code : {"HRK", "ZWL", "VEF", "DEM", "FRF", "ITL", "MRO", "STD", "BYR", "LTL", "BTC", "ABC",
                             "AAA", "ZZZ"}) {
        EXPECT_FALSE(is_iso4217(code)) << code;
    }
}

TEST(Currency, OnlyExactUpperCaseThreeLetterCodesMatch) {
    EXPECT_FALSE(is_iso4217("usd"));
    EXPECT_FALSE(is_iso4217("Usd"));
    EXPECT_FALSE(is_iso4217("US"));
    EXPECT_FALSE(is_iso4217("USDD"));
    EXPECT_FALSE(is_iso4217(" USD"));
    EXPECT_FALSE(is_iso4217(""));
    EXPECT_FALSE(is_iso4217(std::string_view("USD\0", 4)));
}

TEST(Currency, TheTableHoldsTheWholeActiveList) {
    // Every code findable by brute force proves the table is complete and its binary
    // search sound: 181 codes of list one less XTS and XXX, as of the 2025 amendments.
    int found = 0;
    std::string code = "AAA";
    for (char a = 'A'; a <= 'Z'; ++a) {
        for (char b = 'A'; b <= 'Z'; ++b) {
            for (char c = 'A'; c <= 'Z'; ++c) {
                code[0] = a, code[1] = b, code[2] = c;
                found += is_iso4217(code) ? 1 : 0;
            }
        }
    }
    EXPECT_EQ(found, 179);
}

}  // namespace
