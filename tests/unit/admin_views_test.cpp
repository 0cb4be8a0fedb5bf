#include "cc/api/views.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace cc;

namespace {

storage::event_record record_with_value(std::optional<std::string> value) {
    storage::event_record r;
    r.seq = 7;
    r.domain = "example.com";
    r.key_id = "key_abc";
    r.key_name = "Zapier";
    r.key_prefix = "cc_12345678";
    r.received_at = 1'750'000'000'000;
    r.event.event_id = "ev-1";
    r.event.name = "purchase";
    r.event.value = std::move(value);
    r.event.currency = "USD";
    r.event.occurred_at = 1'750'000'000'000;
    r.event.properties = R"({"value":1})";
    r.event.raw = R"({"event":"purchase","value":9007199254740.993})";
    return r;
}

}  // namespace

TEST(EventView, ValueIsTheExactDecimalAsAJsonNumber) {
    const auto text = api::event_json_text(record_with_value("9007199254740.993"));
    EXPECT_NE(text.find("\"value\":9007199254740.993,"), std::string::npos) << text;
    const auto json = nlohmann::json::parse(text);  // still one valid JSON object
    EXPECT_TRUE(json["value"].is_number());
    EXPECT_EQ(json["value_decimal"], "9007199254740.993");
    EXPECT_EQ(json["key_prefix"], "cc_12345678");
    EXPECT_EQ(json["key_name"], "Zapier");
    EXPECT_EQ(json["properties"]["value"], 1);
}

TEST(EventView, AbsentValueIsNull) {
    const auto json = nlohmann::json::parse(api::event_json_text(record_with_value(std::nullopt)));
    EXPECT_TRUE(json["value"].is_null());
}

TEST(EventView, StoredTextThatIsNoJsonNumberNeverBreaksTheDocument) {
    for (const auto* bad : {"", "1,5", "]", "1e", "abc", "1}"}) {
        const auto text = api::event_json_text(record_with_value(std::string(bad)));
        EXPECT_TRUE(nlohmann::json::accept(text)) << bad << ": " << text;
    }
    // A non-canonical but readable decimal is written canonical.
    const auto json = nlohmann::json::parse(api::event_json_text(record_with_value(".5")));
    EXPECT_EQ(json["value"], 0.5);
}

TEST(EventView, JsonNumberGrammar) {
    for (const auto* good : {"0", "1", "99.99", "1e3", "1.5E-2", "-0", "10", "0.000000000000000001"}) {
        EXPECT_TRUE(api::is_json_number(good)) << good;
    }
    for (const auto* bad : {"", "01", ".5", "5.", "+1", "1e", "1.e3", "0x1", "NaN", "1 ", "--1"}) {
        EXPECT_FALSE(api::is_json_number(bad)) << bad;
    }
}

TEST(KeyView, ShowsRolledTo) {
    keys::key_view v;
    v.key.id = "key_a";
    v.status = "active";
    EXPECT_TRUE(api::to_json(v)["rolled_to"].is_null());
    v.key.rolled_to = "key_b";
    EXPECT_EQ(api::to_json(v)["rolled_to"], "key_b");
}
