#include "cc/util/failure.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

using cc::util::error_code;

namespace {

constexpr auto last_code = static_cast<int>(error_code::http_version_not_supported);

}  // namespace

TEST(ErrorCodeTable, EveryCodeHasItsOwnTextAnErrorStatusAndAMessage) {
    std::set<std::string> texts;
    for (int i = 0; i <= last_code; ++i) {
        const auto info = cc::util::describe(static_cast<error_code>(i));
        EXPECT_FALSE(info.text.empty()) << i;
        EXPECT_TRUE(texts.insert(std::string(info.text)).second) << "two codes say " << info.text;
        EXPECT_GE(info.http_status, 400) << info.text;
        EXPECT_LE(info.http_status, 599) << info.text;
        EXPECT_FALSE(info.message.empty()) << info.text;
    }
}

TEST(ErrorCodeTable, StatusesAreTheContracts) {
    EXPECT_EQ(cc::util::http_status(error_code::validation_failed), 400);
    EXPECT_EQ(cc::util::http_status(error_code::invalid_api_key), 401);
    EXPECT_EQ(cc::util::http_status(error_code::ip_not_allowed), 403);
    EXPECT_EQ(cc::util::http_status(error_code::key_not_found), 404);
    EXPECT_EQ(cc::util::http_status(error_code::plan_limit_reached), 409);
    EXPECT_EQ(cc::util::http_status(error_code::rate_limited), 429);
    EXPECT_EQ(cc::util::http_status(error_code::request_header_fields_too_large), 431);
    EXPECT_EQ(cc::util::http_status(error_code::internal_error), 500);
    EXPECT_EQ(cc::util::http_status(error_code::unavailable), 503);
    EXPECT_EQ(cc::util::to_text(error_code::browser_request_refused), "browser_request_refused");
}

TEST(Failure, OfUsesTheCodesDefaultMessage) {
    const auto f = cc::util::failure::of(error_code::key_not_found);
    EXPECT_EQ(f.code, error_code::key_not_found);
    EXPECT_EQ(f.message, "No key has this id.");
    EXPECT_TRUE(f.details.empty());
}
