#include "cc/util/json_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

#include "support/lcg_random.hpp"

namespace cc::util {
namespace {

/// A number below `n` from the deterministic test source.
std::uint64_t below(cc::testing::lcg_random& random, std::uint64_t n) {
    std::uint64_t v = 0;
    random.fill(reinterpret_cast<unsigned char*>(&v), sizeof v);
    return v % n;
}

std::string as_json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

/// nlohmann/json's own serializer (UTF-8 kept, invalid bytes replaced) as the reference.
std::string reference(std::string_view s) {
    return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonText, EscapesWhatJsonRequires) {
    EXPECT_EQ(as_json_string("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(as_json_string("\n\r\t\b\f"), R"("\n\r\t\b\f")");
    EXPECT_EQ(as_json_string(std::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
    EXPECT_EQ(as_json_string("/ and \x7f stay"), "\"/ and \x7f stay\"");
}

TEST(JsonText, KeepsValidUtf8AndReplacesInvalidBytes) {
    EXPECT_EQ(as_json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    EXPECT_EQ(as_json_string("a\xFF" "b"), "\"a\xEF\xBF\xBD" "b\"");
    EXPECT_EQ(as_json_string("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");          // overlong '/'
    EXPECT_EQ(as_json_string("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    EXPECT_EQ(as_json_string("\xF4\x90\x80\x80").substr(0, 4), "\"\xEF\xBF\xBD");          // above U+10FFFF
    EXPECT_EQ(as_json_string("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                 // cut short
}

TEST(JsonText, FindsASpecialByteAtEveryPositionOfAWord) {
    // The scan takes 8 bytes at a time: a special byte must be seen wherever it falls.
    for (char special : {'"', '\\', '\n', '\x1f', '\x00'}) {
        for (std::size_t at = 0; at < 24; ++at) {
            std::string s(24, 'x');
            s[at] = special;
            EXPECT_EQ(as_json_string(s), reference(s)) << "byte " << int(special) << " at " << at;
        }
    }
}

TEST(JsonText, MatchesNlohmannOnRandomValidText) {
    cc::testing::lcg_random random(7);
    const std::vector<std::string> pieces = {"a", "Z", " ", "\"", "\\", "\n", "\x01", "\x7f", "\xC3\xA9",
                                             "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "/", "12345678"};
    for (int round = 0; round < 2000; ++round) {
        std::string s;
        const auto n = below(random, 40);
        for (std::uint64_t i = 0; i < n; ++i) s += pieces[below(random, pieces.size())];
        ASSERT_EQ(as_json_string(s), reference(s)) << nlohmann::json(s).dump();
    }
}

TEST(JsonText, AnyBytesGiveJsonThatParses) {
    cc::testing::lcg_random random(11);
    for (int round = 0; round < 2000; ++round) {
        std::string s;
        const auto n = below(random, 32);
        for (std::uint64_t i = 0; i < n; ++i) s += static_cast<char>(below(random, 256));
        const auto text = as_json_string(s);
        ASSERT_TRUE(nlohmann::json::accept(text)) << reference(s);
    }
}

TEST(JsonText, ObjectWriterKeepsOrderAndFormatsNumbers) {
    std::string out = "x";
    json_object_writer w(out);
    w.string("b", "1").integer("a", -42).decimal3("ms", 0.037756000000000005).decimal3("whole", 2.0);
    w.raw("list", "[1,2]");
    w.begin("nested") += "{}";
    w.decimal3("nan", std::numeric_limits<double>::quiet_NaN());
    w.close();
    EXPECT_EQ(out, R"(x{"b":"1","a":-42,"ms":0.038,"whole":2,"list":[1,2],"nested":{},"nan":null})");
    EXPECT_TRUE(nlohmann::json::accept(out.substr(1)));
}

}  // namespace
}  // namespace cc::util
