#include "cc/events/json_reader.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

using cc::events::is_valid_utf8;
using cc::events::json_document;
using cc::events::max_json_depth;
using cc::events::read_json;
using cc::events::value_text_at;

json_document read_ok(std::string_view body) {
    std::string error;
    auto document = read_json(body, error);
    EXPECT_TRUE(document.has_value()) << body << ": " << error;
    return document ? std::move(*document) : json_document{};
}

std::string read_error(std::string_view body) {
    std::string error;
    const auto document = read_json(body, error);
    EXPECT_FALSE(document.has_value()) << body;
    EXPECT_FALSE(error.empty());
    return error;
}

// The captured text at `pointer`, or "(none)"; never dereferences a missing entry.
std::string text_at(const json_document& document, const std::string& pointer) {
    const std::string* text = value_text_at(document, pointer);
    return text != nullptr ? *text : "(none)";
}

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

TEST(JsonReader, ParsesAnObject) {
    const auto document = read_ok(R"({"event":"purchase","value":10,"tags":["a",null,true]})");
    EXPECT_EQ(document.root["event"], "purchase");
    EXPECT_EQ(document.root["value"], 10);
    EXPECT_EQ(document.root["tags"].size(), 3u);
}

TEST(JsonReader, CapturesTheExactTextOfFloatValues) {
    const auto document = read_ok(R"({"value": 12345678901234567.25})");
    EXPECT_EQ(text_at(document, "/value"), "12345678901234567.25");
    EXPECT_EQ(text_at(read_ok(R"({"value":0.30000000000000004})"), "/value"), "0.30000000000000004");
    EXPECT_EQ(text_at(read_ok(R"({"value":1.50})"), "/value"), "1.50");
    EXPECT_EQ(text_at(read_ok(R"({"value":1e3})"), "/value"), "1e3");
    EXPECT_EQ(text_at(read_ok(R"({"value":-2.5E-3})"), "/value"), "-2.5E-3");
}

TEST(JsonReader, CapturesValueTextsInsideBatches) {
    const auto document =
        read_ok(R"({"events":[{"value":1.5},{"value":2},{"value":"3.5"},[7.5],{"value":0.10,"x":{"value":9.75}}]})");
    EXPECT_EQ(text_at(document, "/events/0/value"), "1.5");
    EXPECT_EQ(text_at(document, "/events/1/value"), "(none)");
    EXPECT_EQ(text_at(document, "/events/2/value"), "(none)");
    EXPECT_EQ(text_at(document, "/events/4/value"), "0.10");
    // Only the fixed event paths are captured: nothing deeper, nothing elsewhere.
    EXPECT_EQ(text_at(document, "/events/4/x/value"), "(none)");
    EXPECT_EQ(document.value_texts.size(), 2u);
}

TEST(JsonReader, OnlyFloatsUnderAValueKeyAreCaptured) {
    const auto document = read_ok(R"({"price":1.5,"value":3,"list":[2.5],"values":4.5})");
    EXPECT_TRUE(document.value_texts.empty());
}

TEST(JsonReader, OnlyTheEventPathsAreCaptured) {
    // Arrays at the root, other members' objects and nested events are not event values.
    EXPECT_TRUE(read_ok(R"([{"a":[1,{"b":2}]},[],7,{"value":0.5}])").value_texts.empty());
    EXPECT_TRUE(read_ok(R"({"meta":{"value":1.5},"p":{"events":[{"value":2.5}]}})").value_texts.empty());
    EXPECT_TRUE(read_ok(R"({"events":{"value":1.5}})").value_texts.empty());
    EXPECT_TRUE(read_ok(R"({"events":[[{"value":1.5}]]})").value_texts.empty());
}

TEST(JsonReader, DuplicateMemberNamesAreRefused) {
    EXPECT_NE(read_error(R"({"value":1.5,"value":2})").find("same member name twice"), std::string::npos);
    EXPECT_NE(read_error(R"({"a":{"b":1,"b":1}})").find("same member name twice"), std::string::npos);
    // Names are compared decoded: an escape does not make a second "events" look different.
    EXPECT_NE(read_error(R"({"ev\u0065nts":[{"event":"a"}],"events":[{"event":"b"}]})").find("twice"),
              std::string::npos);
}

TEST(JsonReader, EventElementsKeepTheirSourceBytes) {
    const std::string body = R"({"events": [ {"event":"a", "value": 1.50 } ,{"b":"x,]}\"y"},  [1,2], "s", 3 ,{"n":7}]})";
    const auto document = read_ok(body);
    ASSERT_EQ(document.event_texts.size(), 6u);
    EXPECT_EQ(document.event_texts[0], R"({"event":"a", "value": 1.50 })");
    EXPECT_EQ(document.event_texts[1], R"({"b":"x,]}\"y"})");
    EXPECT_EQ(document.event_texts[2], "");  // not an object: never stored as an event
    EXPECT_EQ(document.event_texts[3], "");
    EXPECT_EQ(document.event_texts[4], "");
    EXPECT_EQ(document.event_texts[5], R"({"n":7})");  // after a number's one-byte lookahead
}

TEST(JsonReader, EventElementsOfOtherMembersAreNotSliced) {
    const auto document = read_ok(R"({"meta":{"events":[{"a":1}]},"events":[{"x":[{"y":"]"}]}],"tail":true})");
    ASSERT_EQ(document.event_texts.size(), 1u);
    EXPECT_EQ(document.event_texts[0], R"({"x":[{"y":"]"}]})");
    EXPECT_TRUE(read_ok(R"({"other":[{"a":1}]})").event_texts.empty());
    EXPECT_TRUE(read_ok(R"([{"a":1}])").event_texts.empty());
}

TEST(JsonReader, AnythingAfterTheValueIsRefused) {
    EXPECT_EQ(read_error(std::string("{\"event\":\"x\"}\0garbage{", 22)),
              "The body is not valid JSON (error near byte 14).");
    EXPECT_NE(read_error(std::string("{\"a\":1}\0", 8)).find("not valid JSON"), std::string::npos);
    EXPECT_NE(read_error(std::string("{\"a\":\"x\0y\"}", 11)).find("not valid JSON"), std::string::npos);
    EXPECT_NE(read_error("{\"a\":1} {}").find("not valid JSON"), std::string::npos);
    read_ok(" \r\n{\"a\":1}\n\t ");
}

TEST(JsonReader, TheSyntaxErrorMessageSaysItOnce) {
    EXPECT_EQ(read_error("{x"), "The body is not valid JSON (error near byte 2).");
}

TEST(JsonReader, NestingUpTo32LevelsIsAccepted) {
    read_ok(nested_arrays(max_json_depth));
    std::string objects;
    for (std::size_t i = 0; i < max_json_depth; ++i) {
        objects += R"({"a":)";
    }
    objects += "1" + std::string(max_json_depth, '}');
    read_ok(objects);
}

TEST(JsonReader, NestingDeeperThan32LevelsIsRefused) {
    EXPECT_NE(read_error(nested_arrays(max_json_depth + 1)).find("nested"), std::string::npos);
    EXPECT_NE(read_error(R"({"a":)" + nested_arrays(max_json_depth) + "}").find("nested"), std::string::npos);
    // Far deeper input is refused just as quickly, without recursion.
    EXPECT_NE(read_error(std::string(100000, '[')).find("nested"), std::string::npos);
}

TEST(JsonReader, MalformedJsonIsRefused) {
    for (const char* body : {"{", "{\"a\":}", "[1,]", "nul", "{} x", "{'a':1}", "{\"a\":1,}", "01", "\"\\x\"",
                             "{\"a\":\"\\ud800\"}", "[1 2]", "NaN", "{\"a\" 1}"}) {
        EXPECT_NE(read_error(body).find("not valid JSON"), std::string::npos) << body;
    }
}

TEST(JsonReader, EmptyBodyIsRefused) {
    EXPECT_NE(read_error("").find("empty"), std::string::npos);
    EXPECT_NE(read_error(" \r\n\t").find("empty"), std::string::npos);
}

TEST(JsonReader, ErrorsNeverQuoteTheBody) {
    for (const char* body : {R"({"key":"cc_SHOULDNOTLEAK" x})", R"({"cc_SHOULDNOTLEAK)", "cc_SHOULDNOTLEAK",
                             R"({"a":1e99999, "b":"cc_SHOULDNOTLEAK"})"}) {
        EXPECT_EQ(read_error(body).find("SHOULDNOTLEAK"), std::string::npos) << body;
    }
}

TEST(JsonReader, NumbersBeyondDoubleRangeAreRefused) {
    EXPECT_NE(read_error(R"({"value":1e999})").find("too large"), std::string::npos);
}

TEST(JsonReader, InvalidUtf8IsRefused) {
    for (const std::string& body : {std::string("{\"a\":\"\xff\"}"), std::string("{\"a\":\"\xc0\xaf\"}"),
                                   std::string("{\"a\":\"\xed\xa0\x80\"}"), std::string("{\"a\":\"\xe2\x82\"}"),
                                   std::string("{\"\xfe\":1}"), std::string("\xef\xbb{}")}) {
        EXPECT_NE(read_error(body).find("UTF-8"), std::string::npos);
    }
}

TEST(JsonReader, UnicodeTextIsAccepted) {
    const auto document = read_ok("{\"a\":\"h\xc3\xa9llo \xf0\x9f\x98\x80\",\"b\":\"\\u00e9\\ud83d\\ude00\"}");
    EXPECT_EQ(document.root["a"], "h\xc3\xa9llo \xf0\x9f\x98\x80");
    EXPECT_EQ(document.root["b"], "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonReader, NeverThrowsWhateverTheInput) {
    const std::string valid = R"({"events":[{"event":"x","value":1.25,"p":{"q":[1,2,{"r":null}]}}]})";
    for (std::size_t n = 0; n <= valid.size(); ++n) {
        std::string error;
        EXPECT_NO_THROW(read_json(valid.substr(0, n), error));
    }
    std::mt19937 rng(12345);  // fixed seed: the same inputs every run
    const std::string alphabet = "{}[]\":,0123456789.eE+-truefalsnl \\u\x80\xff";
    for (int round = 0; round < 3000; ++round) {
        std::string body;
        const std::size_t size = rng() % 64;
        for (std::size_t i = 0; i < size; ++i) {
            body.push_back(alphabet[rng() % alphabet.size()]);
        }
        std::string error;
        EXPECT_NO_THROW(read_json(body, error));
    }
}

TEST(Utf8, WellFormedSequencesAreAcceptedAtTheirBoundaries) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xc2\x80"));              // U+0080
    EXPECT_TRUE(is_valid_utf8("\xdf\xbf"));              // U+07FF
    EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80"));          // U+0800
    EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));          // U+D7FF
    EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));          // U+E000
    EXPECT_TRUE(is_valid_utf8("\xf0\x90\x80\x80"));      // U+10000
    EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));      // U+10FFFF
}

TEST(Utf8, IllFormedSequencesAreRefused) {
    EXPECT_FALSE(is_valid_utf8("\x80"));                 // lone continuation
    EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));             // overlong
    EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));         // overlong
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));         // surrogate U+D800
    EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));     // overlong
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));     // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));             // truncated
    EXPECT_FALSE(is_valid_utf8("\xe2\x28\xa1"));         // bad continuation
    EXPECT_FALSE(is_valid_utf8("ok\xff"));
}

}  // namespace

namespace {

json_document read_shape(std::string_view body, cc::events::body_shape shape) {
    std::string error;
    auto document = cc::events::read_events(body, shape, error);
    EXPECT_TRUE(document.has_value()) << body << ": " << error;
    return document ? std::move(*document) : json_document{};
}

}  // namespace

TEST(ReadEvents, OnlyEventFieldsOfASingleEventAreBuilt) {
    const auto document = read_shape(R"({"event":"a","value":1.50,"properties":{"x":[1]},"junk":{"deep":[[1,2]]},"n":3})",
                                     cc::events::body_shape::single_event);
    EXPECT_EQ(document.root["event"], "a");
    EXPECT_EQ(document.root["properties"], nlohmann::json::parse(R"({"x":[1]})"));
    EXPECT_TRUE(document.root.at("junk").is_null());  // the name is kept, the contents are not
    EXPECT_TRUE(document.root.at("n").is_null());
    EXPECT_EQ(text_at(document, "/value"), "1.50");
}

TEST(ReadEvents, OnlyTheEventsOfABatchAreBuilt) {
    const auto document = read_shape(
        R"({"meta":{"a":[1,2,3]},"events":[{"event":"a","value":2.50,"extra":[1,{"b":2}]},[1,[2]],"s"]})",
        cc::events::body_shape::batch);
    EXPECT_TRUE(document.root.at("meta").is_null());
    const auto& events = document.root.at("events");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0]["event"], "a");
    EXPECT_TRUE(events[0].at("extra").is_null());
    EXPECT_EQ(events[1], nlohmann::json::array());  // not an event: refused as one, contents dropped
    EXPECT_EQ(events[2], "s");
    EXPECT_EQ(text_at(document, "/events/0/value"), "2.50");
    EXPECT_EQ(document.event_texts[0], R"({"event":"a","value":2.50,"extra":[1,{"b":2}]})");
}

TEST(ReadEvents, SkippedMembersAreStillCheckedWhole) {
    std::string error;
    using cc::events::body_shape;
    // Depth counts inside skipped members too.
    EXPECT_FALSE(cc::events::read_events(R"({"junk":)" + nested_arrays(max_json_depth) + "}", body_shape::single_event,
                                         error));
    EXPECT_NE(error.find("nested"), std::string::npos);
    // Duplicate names of unknown members are still duplicates.
    EXPECT_FALSE(cc::events::read_events(R"({"junk":1,"j\u0075nk":{}})", body_shape::single_event, error));
    EXPECT_NE(error.find("twice"), std::string::npos);
    EXPECT_FALSE(cc::events::read_events(R"({"events":[{"x":1,"x":2}]})", body_shape::batch, error));
    // Syntax inside skipped members is still syntax.
    EXPECT_FALSE(cc::events::read_events(R"({"junk":[1,}]})", body_shape::batch, error));
    EXPECT_NE(error.find("not valid JSON"), std::string::npos);
}
