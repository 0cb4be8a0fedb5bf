#include "cc/events/form_decoder.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using cc::events::decode_form;
using nlohmann::json;

json decode_ok(std::string_view body) {
    std::string error;
    const auto decoded = decode_form(body, error);
    EXPECT_TRUE(decoded.has_value()) << body << ": " << error;
    return decoded.value_or(json());
}

std::string decode_error(std::string_view body) {
    std::string error;
    const auto decoded = decode_form(body, error);
    EXPECT_FALSE(decoded.has_value()) << body;
    return error;
}

TEST(FormDecoder, PairsBecomeAFlatObjectOfStrings) {
    EXPECT_EQ(decode_ok("a=1&b=hello+world&c=%41"), (json{{"a", "1"}, {"b", "hello world"}, {"c", "A"}}));
}

TEST(FormDecoder, PlusIsSpaceAndEncodedPlusIsPlus) {
    EXPECT_EQ(decode_ok("phone=%2B1+555")["phone"], "+1 555");
}

TEST(FormDecoder, PercentEscapesDecodeInEitherCase) {
    EXPECT_EQ(decode_ok("name=Jos%c3%a9&mail=a%40B.co")["name"], "Jos\xc3\xa9");
    EXPECT_EQ(decode_ok("name=Jos%C3%A9")["name"], "Jos\xc3\xa9");
    EXPECT_EQ(decode_ok("first%20name=x")["first name"], "x");
    EXPECT_EQ(decode_ok("a=%26%3D")["a"], "&=");
}

TEST(FormDecoder, MalformedEscapesAreRefused) {
    for (const char* body : {"a=%zz", "a=%4", "a=%", "a=%G1", "%zz=1", "a=1&b=%4x"}) {
        EXPECT_NE(decode_error(body).find("percent"), std::string::npos) << body;
    }
}

TEST(FormDecoder, RepeatedKeyKeepsTheLastValue) {
    EXPECT_EQ(decode_ok("a=1&a=2&a=3")["a"], "3");
}

TEST(FormDecoder, EmptyPairsAreSkipped) {
    EXPECT_EQ(decode_ok("&&a=1&&b=2&"), (json{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(decode_ok(""), json::object());
}

TEST(FormDecoder, PairWithoutEqualsIsAnEmptyValue) {
    EXPECT_EQ(decode_ok("flag&a=1"), (json{{"flag", ""}, {"a", "1"}}));
    EXPECT_EQ(decode_ok("a=")["a"], "");
}

TEST(FormDecoder, ValueMayContainEqualsSigns) {
    EXPECT_EQ(decode_ok("a=b=c")["a"], "b=c");
}

TEST(FormDecoder, DecodedBytesMustBeUtf8) {
    EXPECT_NE(decode_error("a=%FF").find("UTF-8"), std::string::npos);
    EXPECT_NE(decode_error("a=%C3").find("UTF-8"), std::string::npos);
    EXPECT_NE(decode_error("a=%C0%AF").find("UTF-8"), std::string::npos);  // overlong "/"
    EXPECT_NE(decode_error("a=%ED%A0%80").find("UTF-8"), std::string::npos);  // surrogate
    EXPECT_NE(decode_error("%FF=1").find("UTF-8"), std::string::npos);
    EXPECT_NE(decode_error("a=\xff").find("UTF-8"), std::string::npos);
    EXPECT_EQ(decode_ok("a=%F0%9F%98%80")["a"], "\xf0\x9f\x98\x80");
}

TEST(FormDecoder, ErrorsNeverQuoteTheBody) {
    const std::string error = decode_error("secret_token=cc_SHOULDNOTLEAK%zz");
    EXPECT_EQ(error.find("SHOULDNOTLEAK"), std::string::npos);
    EXPECT_EQ(error.find("secret_token"), std::string::npos);
}

}  // namespace

TEST(FormDecoding, RawBytesThatAreNotUtf8AreRefusedEvenIfTheyDecodeToUtf8) {
    std::string error;
    // 0xC3 sent raw, then "%A9": decoded it would be "é", but the body kept as raw is not UTF-8.
    EXPECT_FALSE(cc::events::decode_form(std::string("event=lead&external_id=\xC3%A9"), error).has_value());
    EXPECT_FALSE(error.empty());
}
