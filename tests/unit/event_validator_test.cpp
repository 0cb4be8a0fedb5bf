#include "cc/events/event_validator.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cc/events/form_decoder.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/util/crypto.hpp"

namespace {

using cc::events::validate_event;
using cc::events::validation_result;
using cc::util::millis;
using nlohmann::json;

constexpr millis now = 1780272000000;  // 2026-06-01T00:00:00Z
constexpr millis second_ms = 1000;
constexpr millis minute_ms = 60 * second_ms;
constexpr millis day_ms = 24 * 60 * minute_ms;

// The smallest valid event; tests add or override one field at a time.
json base_event() { return {{"event", "purchase"}, {"email", "a@example.com"}}; }

json with(std::string_view field, json value) {
    json event = base_event();
    event[std::string(field)] = std::move(value);
    return event;
}

json without(std::string_view field, json event) {
    event.erase(std::string(field));
    return event;
}

validation_result validate(const json& event, const std::string* value_text = nullptr) {
    return validate_event(event, value_text, event.dump(), now);
}

// The problems as (field, problem) pairs, to compare whole lists at once.
std::vector<std::pair<std::string, std::string>> problems(const validation_result& result) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : result.problems) {
        out.emplace_back(p.field, p.problem);
    }
    return out;
}

using problem_list = std::vector<std::pair<std::string, std::string>>;

problem_list one(std::string field, std::string problem) { return {{std::move(field), std::move(problem)}}; }

// Asserts acceptance and returns the event.
cc::events::event accepted(const json& event, const std::string* value_text = nullptr) {
    const auto result = validate(event, value_text);
    EXPECT_TRUE(result.ok()) << event.dump() << " -> " << (result.problems.empty() ? "" : result.problems[0].field + " " + result.problems[0].problem);
    EXPECT_TRUE(result.problems.empty());
    return result.value.value_or(cc::events::event{});
}

// n copies of a UTF-8 character.
std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += s;
    }
    return out;
}

std::string hex64(char c) { return std::string(64, c); }

const std::string mixed_case_hash = "836F82DB99121B3481011F16B49DFA5FBC714A0D1B1B9F784A1EBBBF5B39577F";
const std::string john_hash = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";  // sha256("john.doe@example.com")
const std::string phone_hash = "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4";  // sha256("+15551234567")

// ---- shape ---------------------------------------------------------------------------

TEST(EventValidation, NonObjectIsOneProblem) {
    for (const json& body : {json::array(), json("purchase"), json(nullptr), json(5)}) {
        const auto result = validate(body);
        EXPECT_FALSE(result.ok());
        EXPECT_EQ(problems(result), one("(event)", "must be a JSON object")) << body.dump();
    }
}

TEST(EventValidation, MinimalEventIsAcceptedWithDefaults) {
    const json body = base_event();
    const auto result = validate_event(body, nullptr, "the raw body", now);
    ASSERT_TRUE(result.ok());
    const auto& e = *result.value;
    EXPECT_EQ(e.name, "purchase");
    EXPECT_EQ(e.email, "a@example.com");
    EXPECT_EQ(e.occurred_at, now);
    EXPECT_EQ(e.raw, "the raw body");
    EXPECT_FALSE(e.event_id);
    EXPECT_FALSE(e.phone);
    EXPECT_FALSE(e.value);
    EXPECT_FALSE(e.currency);
    EXPECT_FALSE(e.properties);
}

TEST(EventValidation, UnknownFieldsAreIgnoredAndKeptInRaw) {
    json body = with("utm_source", "newsletter");
    body["nested"] = {{"anything", {1, 2, 3}}};
    const auto result = validate_event(body, nullptr, body.dump(), now);
    ASSERT_TRUE(result.ok());
    EXPECT_NE(result.value->raw.find("newsletter"), std::string::npos);
}

TEST(EventValidation, EveryProblemIsCollectedOncePerFieldInOrder) {
    const json body = {{"event", "bad!"},      {"email", "nope"},        {"phone", "12"},
                       {"value", -1},          {"event_id", 5.5},        {"timestamp", "soon"},
                       {"properties", "[1]"},  {"external_id", false},       {"click_id", repeat("c", 513)}};
    EXPECT_EQ(problems(validate(body)),
              (problem_list{{"event", "must be 1-64 characters of letters, digits, _ . : - and space"},
                            {"email", "must be an email address like name@example.com"},
                            {"phone", "must be 7-15 digits with the country code, optionally starting with + or 00 (E.164, first digit not 0)"},
                            {"external_id", "must be a string or an integer"},
                            {"click_id", "must be at most 512 characters"},
                            {"value", "must be >= 0"},
                            {"currency", "is required when value is present"},
                            {"event_id", "must be a string or an integer"},
                            {"timestamp", "must be an RFC 3339 date-time or Unix time in seconds (or milliseconds when >= 10^11)"},
                            {"properties", "must be a JSON object"}}));
}

TEST(EventValidation, BlankOrNullOptionalFieldsCountAsAbsent) {
    // Zapier sends unmapped fields as empty strings; this must equal not sending them.
    const json body = {{"event", "lead"},  {"email", "a@example.com"}, {"phone", ""},      {"external_id", " "},
                       {"click_id", "\t"}, {"value", "  "},            {"currency", ""},   {"event_id", nullptr},
                       {"timestamp", ""},  {"properties", " \n "}};
    const auto e = accepted(body);
    EXPECT_FALSE(e.phone);
    EXPECT_FALSE(e.external_id);
    EXPECT_FALSE(e.click_id);
    EXPECT_FALSE(e.value);
    EXPECT_FALSE(e.currency);
    EXPECT_FALSE(e.event_id);
    EXPECT_FALSE(e.properties);
    EXPECT_EQ(e.occurred_at, now);
}

// ---- event ----------------------------------------------------------------------------

TEST(EventValidation, EventIsRequired) {
    for (const json& missing : {json(nullptr), json(""), json("   ")}) {
        EXPECT_EQ(problems(validate(with("event", missing))), one("event", "is required")) << missing.dump();
    }
    EXPECT_EQ(problems(validate(without("event", base_event()))), one("event", "is required"));
}

TEST(EventValidation, EventMustBeAString) {
    EXPECT_EQ(problems(validate(with("event", 5))), one("event", "must be a string"));
    EXPECT_EQ(problems(validate(with("event", json::array({"purchase"})))), one("event", "must be a string"));
}

TEST(EventValidation, EventIsOneTo64AllowedCharacters) {
    const std::string bad = "must be 1-64 characters of letters, digits, _ . : - and space";
    EXPECT_EQ(accepted(with("event", repeat("a", 64))).name, repeat("a", 64));
    EXPECT_EQ(problems(validate(with("event", repeat("a", 65)))), one("event", bad));
    EXPECT_EQ(accepted(with("event", "Add to cart: step-1.v2_x")).name, "Add to cart: step-1.v2_x");
    EXPECT_EQ(accepted(with("event", "x")).name, "x");
    for (const char* name : {"purchase!", "caf\xc3\xa9", "a/b", "a\tb", "emoji \xf0\x9f\x98\x80", "a,b"}) {
        EXPECT_EQ(problems(validate(with("event", name))), one("event", bad)) << name;
    }
}

TEST(EventValidation, EventIsTrimmedBeforeItsLengthIsCounted) {
    EXPECT_EQ(accepted(with("event", "  lead \n")).name, "lead");
    EXPECT_EQ(accepted(with("event", "  " + repeat("a", 64) + "  ")).name, repeat("a", 64));
}

// ---- email ----------------------------------------------------------------------------

TEST(EventValidation, EmailIsTrimmedLowerCasedAndHashed) {
    const auto e = accepted(with("email", "  John.Doe@Example.COM "));
    EXPECT_EQ(e.email, "john.doe@example.com");
    EXPECT_EQ(e.email_sha256, john_hash);
}

TEST(EventValidation, EmailNeedsOneAtALocalPartAndADottedDomain) {
    const std::string bad = "must be an email address like name@example.com";
    for (const char* email : {"no-at", "a@@example.com", "a@b@example.com", "@example.com", "a@example", "a@",
                              "a@.example.com", "a@example.com.", "a@exa..mple.com", "a b@example.com",
                              "a@exam ple.com", "a\t@example.com", "a@example.com\x01"}) {
        EXPECT_EQ(problems(validate(with("email", email))), one("email", bad)) << email;
    }
    for (const char* email : {"a@b.co", "user+tag@sub.example.co.uk", "o'brien@example.ie",
                              "jos\xc3\xa9@ex\xc3\xa4mple.de"}) {
        EXPECT_TRUE(validate(with("email", email)).ok()) << email;
    }
}

TEST(EventValidation, EmailIsAtMost254Characters) {
    const std::string domain = "@example.com";  // 12 characters
    EXPECT_TRUE(validate(with("email", repeat("a", 242) + domain)).ok());
    EXPECT_EQ(problems(validate(with("email", repeat("a", 243) + domain))),
              one("email", "must be at most 254 characters"));
    // Characters, not bytes: 242 two-byte letters are 484 bytes but 254 characters in all.
    EXPECT_TRUE(validate(with("email", repeat("\xc3\xa9", 242) + domain)).ok());
}

TEST(EventValidation, EmailAlreadyHashedIsKeptAsTheHashOnly) {
    const auto e = accepted(with("email", mixed_case_hash));
    EXPECT_FALSE(e.email);
    EXPECT_EQ(e.email_sha256, john_hash);
    // 63 or 65 hex digits are not a hash, and not an address either.
    EXPECT_FALSE(validate(with("email", john_hash.substr(1))).ok());
    EXPECT_FALSE(validate(with("email", john_hash + "a")).ok());
    EXPECT_FALSE(validate(with("email", hex64('g'))).ok());
}

TEST(EventValidation, EmailMustBeAString) {
    EXPECT_EQ(problems(validate(with("email", 42))), one("email", "must be a string"));
}

// ---- phone ----------------------------------------------------------------------------

TEST(EventValidation, PhoneFormattingIsDroppedToE164) {
    json body = without("email", base_event());
    body["phone"] = "+1 (555) 123-4567";
    const auto e = accepted(body);
    EXPECT_EQ(e.phone, "+15551234567");
    EXPECT_EQ(e.phone_sha256, phone_hash);
    EXPECT_EQ(accepted(with("phone", " 1.555.123.4567 ")).phone, "+15551234567");
}

TEST(EventValidation, PhoneWithoutPlusIsTakenToIncludeItsCountryCode) {
    EXPECT_EQ(accepted(with("phone", "4915112345678")).phone, "+4915112345678");
    EXPECT_EQ(accepted(with("phone", "15551234567")).phone_sha256, phone_hash);
}

TEST(EventValidation, PhoneHasSevenToFifteenDigits) {
    const std::string bad = "must be 7-15 digits with the country code, optionally starting with + or 00 (E.164, first digit not 0)";
    EXPECT_EQ(accepted(with("phone", "1234567")).phone, "+1234567");
    EXPECT_EQ(accepted(with("phone", "+1234567")).phone, "+1234567");
    EXPECT_EQ(problems(validate(with("phone", "123456"))), one("phone", bad));
    EXPECT_EQ(problems(validate(with("phone", "+123456"))), one("phone", bad));
    EXPECT_EQ(accepted(with("phone", "123456789012345")).phone, "+123456789012345");
    EXPECT_EQ(accepted(with("phone", "+1 234-567-890-123-45")).phone, "+123456789012345");
    EXPECT_EQ(problems(validate(with("phone", "1234567890123456"))), one("phone", bad));
    EXPECT_EQ(problems(validate(with("phone", "+1234567890123456"))), one("phone", bad));
}

TEST(EventValidation, PhoneRefusesLettersAndMisplacedPlus) {
    const std::string bad = "must be 7-15 digits with the country code, optionally starting with + or 00 (E.164, first digit not 0)";
    for (const char* phone : {"555-CALL-NOW", "1+5551234567", "++15551234567", "+1 555 123 4567 ext 9",
                              "5551234\t567", "+", "-()-", "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7"}) {
        EXPECT_EQ(problems(validate(with("phone", phone))), one("phone", bad)) << phone;
    }
}

TEST(EventValidation, PhoneInternationalPrefix00IsReadAsPlus) {
    const auto e = accepted(with("phone", "0044 20 7946 0958"));
    EXPECT_EQ(e.phone, "+442079460958");
    EXPECT_EQ(e.phone_sha256, cc::util::sha256_hex("+442079460958"));
    EXPECT_EQ(accepted(with("phone", "00 1 (555) 123-4567")).phone_sha256, phone_hash);
    // The 15-digit limit counts the number, not the prefix.
    EXPECT_EQ(accepted(with("phone", "00123456789012345")).phone, "+123456789012345");
    EXPECT_FALSE(validate(with("phone", "001234567890123456")).ok());
}

TEST(EventValidation, PhoneInE164NeverStartsWithZero) {
    const std::string bad = "must be 7-15 digits with the country code, optionally starting with + or 00 (E.164, first digit not 0)";
    for (const char* phone : {"020 7946 0958", "+0441234567", "000441234567", "0 1234567"}) {
        EXPECT_EQ(problems(validate(with("phone", phone))), one("phone", bad)) << phone;
    }
}

TEST(EventValidation, PhoneAlreadyHashedIsKeptAsTheHashOnly) {
    const auto e = accepted(with("phone", hex64('A')));
    EXPECT_FALSE(e.phone);
    EXPECT_EQ(e.phone_sha256, hex64('a'));
}

TEST(EventValidation, PhoneMustBeAString) {
    EXPECT_EQ(problems(validate(with("phone", 15551234567LL))), one("phone", "must be a string"));
}

// ---- external_id, click_id -------------------------------------------------------------

TEST(EventValidation, ExternalIdIsAtMost256Characters) {
    EXPECT_EQ(accepted(with("external_id", repeat("x", 256))).external_id, repeat("x", 256));
    EXPECT_EQ(problems(validate(with("external_id", repeat("x", 257)))),
              one("external_id", "must be at most 256 characters"));
    // Code points, not bytes: 256 three-byte characters pass.
    EXPECT_TRUE(validate(with("external_id", repeat("\xe2\x82\xac", 256))).ok());
    EXPECT_FALSE(validate(with("external_id", repeat("\xe2\x82\xac", 257))).ok());
    EXPECT_EQ(accepted(with("external_id", "  crm-42 ")).external_id, "crm-42");
    // A JSON integer is read as its decimal text; other types are refused.
    EXPECT_EQ(accepted(with("external_id", 42)).external_id, "42");
    EXPECT_EQ(accepted(with("external_id", 18446744073709551615ULL)).external_id, "18446744073709551615");
    EXPECT_EQ(accepted(with("external_id", -7)).external_id, "-7");
    EXPECT_EQ(problems(validate(with("external_id", 4.5))), one("external_id", "must be a string or an integer"));
    EXPECT_EQ(problems(validate(with("external_id", true))), one("external_id", "must be a string or an integer"));
}

TEST(EventValidation, ClickIdIsAtMost512Characters) {
    EXPECT_EQ(accepted(with("click_id", repeat("g", 512))).click_id, repeat("g", 512));
    EXPECT_EQ(problems(validate(with("click_id", repeat("g", 513)))),
              one("click_id", "must be at most 512 characters"));
    EXPECT_TRUE(validate(with("click_id", repeat("\xf0\x9f\x98\x80", 512))).ok());
    EXPECT_EQ(accepted(with("click_id", " gclid-1 ")).click_id, "gclid-1");
    EXPECT_EQ(problems(validate(with("click_id", true))), one("click_id", "must be a string"));
}

TEST(EventValidation, AtLeastOneIdentifierIsRequired) {
    const auto missing = one("identifier", "at least one of email, phone, external_id, click_id is required");
    const json bare = {{"event", "lead"}};
    EXPECT_EQ(problems(validate(bare)), missing);
    json blanks = bare;
    blanks["email"] = "  ";
    blanks["phone"] = nullptr;
    blanks["external_id"] = "";
    EXPECT_EQ(problems(validate(blanks)), missing);
    for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
             {"email", "a@example.com"}, {"phone", "+15551234567"}, {"external_id", "c1"}, {"click_id", "g1"}}) {
        json body = bare;
        body[field] = value;
        EXPECT_TRUE(validate(body).ok()) << field;
    }
    // A sent but invalid identifier is reported as itself, not as a missing one.
    json invalid = bare;
    invalid["email"] = "nope";
    EXPECT_EQ(problems(validate(invalid)), one("email", "must be an email address like name@example.com"));
}

// ---- value, currency -----------------------------------------------------------------------

json priced(json value, json currency = "USD") {
    json body = base_event();
    body["value"] = std::move(value);
    body["currency"] = std::move(currency);
    return body;
}

TEST(EventValidation, ValueAcceptsNumbersAndNumericStrings) {
    EXPECT_EQ(accepted(priced(100)).value, "100");
    EXPECT_EQ(accepted(priced(0)).value, "0");
    EXPECT_EQ(accepted(priced(" 99.99 ")).value, "99.99");
    EXPECT_EQ(accepted(priced("1e3")).value, "1000");
    EXPECT_EQ(accepted(priced("1.50")).value, "1.5");
    const std::string text = "99.990";
    EXPECT_EQ(accepted(priced(99.99), &text).value, "99.99");
}

TEST(EventValidation, ValueIsStoredAsTheExactDecimalText) {
    const std::string big = "12345678901234567.25";
    EXPECT_EQ(accepted(priced(12345678901234567.25), &big).value, "12345678901234567.25");
    EXPECT_EQ(accepted(priced("12345678901234567.25")).value, "12345678901234567.25");
    const std::string tenth = "0.1";
    EXPECT_EQ(accepted(priced(0.1), &tenth).value, "0.1");
    const std::string sum = "0.30000000000000004";
    EXPECT_EQ(accepted(priced(0.1 + 0.2), &sum).value, "0.30000000000000004");
}

TEST(EventValidation, ValueExactThroughTheJsonReader) {
    std::string error;
    const auto document = cc::events::read_json(
        R"({"events":[{"event":"x","email":"a@example.com","value":12345678901234567.25,"currency":"usd"}]})", error);
    ASSERT_TRUE(document) << error;
    const auto result = validate_event(document->root["events"][0],
                                       cc::events::value_text_at(*document, "/events/0/value"), "raw", now);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.value->value, "12345678901234567.25");
    EXPECT_EQ(result.value->currency, "USD");
}

TEST(EventValidation, ValueFloatWithoutSourceTextUsesItsShortestForm) {
    EXPECT_EQ(accepted(priced(0.1)).value, "0.1");
    EXPECT_EQ(accepted(priced(1e3)).value, "1000");
    EXPECT_EQ(accepted(priced(2.5e-7)).value, "0.00000025");
}

TEST(EventValidation, ValueSourceTextIsIgnoredForNonFloats) {
    const std::string stale = "7.5";
    EXPECT_EQ(accepted(priced(3), &stale).value, "3");
    EXPECT_EQ(accepted(priced("4.5"), &stale).value, "4.5");
}

TEST(EventValidation, ValueMustNotBeNegative) {
    const std::string minus = "-0.01";
    for (const json& value : {json(-1), json("-0.01"), json(-5.5), json("-1e3")}) {
        EXPECT_EQ(problems(validate(priced(value))), one("value", "must be >= 0")) << value.dump();
    }
    EXPECT_EQ(problems(validate(priced(-0.01), &minus)), one("value", "must be >= 0"));
    EXPECT_EQ(accepted(priced("-0")).value, "0");
}

TEST(EventValidation, ValueMustBeANumber) {
    for (const json& value : {json(true), json("abc"), json::object(), json::array({1}), json("NaN"),
                              json("Infinity"), json("0x10"), json("+5"), json("1e"), json("-")}) {
        EXPECT_EQ(problems(validate(priced(value))), one("value", "must be a number")) << value.dump();
    }
}

TEST(EventValidation, ValueWithSymbolsOrSeparatorsSaysSo) {
    const std::string says = "must be a plain number: currency symbols and thousands separators are not allowed (e.g. 1299.00)";
    for (const char* value : {"$99.99", "1,299.00", "99.99 EUR", "\xe2\x82\xac" "5", "1 299", "1'299.00"}) {
        EXPECT_EQ(problems(validate(priced(value))), one("value", says)) << value;
    }
}

TEST(EventValidation, ValueHasAtMost18DigitsEachSideOfThePoint) {
    EXPECT_EQ(accepted(priced("999999999999999999")).value, "999999999999999999");
    EXPECT_EQ(problems(validate(priced("1000000000000000000"))),
              one("value", "must have at most 18 digits before the decimal point"));
    EXPECT_EQ(problems(validate(priced(18446744073709551615ULL))),
              one("value", "must have at most 18 digits before the decimal point"));
    EXPECT_EQ(accepted(priced("0.000000000000000001")).value, "0.000000000000000001");
    EXPECT_EQ(problems(validate(priced("0.0000000000000000001"))),
              one("value", "must have at most 18 digits after the decimal point"));
}

TEST(EventValidation, CurrencyIsRequiredWithValue) {
    json body = base_event();
    body["value"] = 10;
    EXPECT_EQ(problems(validate(body)), one("currency", "is required when value is present"));
    body["currency"] = " ";
    EXPECT_EQ(problems(validate(body)), one("currency", "is required when value is present"));
    // Even a bad value still needs its currency: both are reported.
    body["value"] = "abc";
    EXPECT_EQ(problems(validate(body)), (problem_list{{"value", "must be a number"},
                                                      {"currency", "is required when value is present"}}));
    // A currency alone is fine.
    EXPECT_EQ(accepted(with("currency", "eur")).currency, "EUR");
}

TEST(EventValidation, CurrencyIsCaseInsensitiveIso4217StoredUpperCase) {
    EXPECT_EQ(accepted(priced(1, "usd")).currency, "USD");
    EXPECT_EQ(accepted(priced(1, " eUr ")).currency, "EUR");
    EXPECT_EQ(accepted(priced(1, "zwg")).currency, "ZWG");
    for (const char* code : {"XYZ", "US", "USDD", "XTS", "XXX", "dollars", "U$D", "\xc3\xbcsd"}) {
        EXPECT_EQ(problems(validate(priced(1, code))), one("currency", "is not an ISO 4217 currency code")) << code;
    }
    EXPECT_EQ(problems(validate(priced(1, 840))), one("currency", "must be a string"));
}

// ---- event_id --------------------------------------------------------------------------

TEST(EventValidation, EventIdIsOneTo128Characters) {
    EXPECT_EQ(accepted(with("event_id", repeat("e", 128))).event_id, repeat("e", 128));
    EXPECT_EQ(problems(validate(with("event_id", repeat("e", 129)))), one("event_id", "must be 1-128 characters"));
    EXPECT_TRUE(validate(with("event_id", repeat("\xc3\xa9", 128))).ok());
    EXPECT_EQ(accepted(with("event_id", "  order-1 ")).event_id, "order-1");
    EXPECT_EQ(accepted(with("event_id", "x")).event_id, "x");
    // A JSON integer is read as its decimal text.
    EXPECT_EQ(accepted(with("event_id", 1234)).event_id, "1234");
    EXPECT_EQ(accepted(with("event_id", 9007199254740993ULL)).event_id, "9007199254740993");
    EXPECT_EQ(problems(validate(with("event_id", 12.5))), one("event_id", "must be a string or an integer"));
    EXPECT_EQ(problems(validate(with("event_id", json::array()))), one("event_id", "must be a string or an integer"));
}

// ---- timestamp ---------------------------------------------------------------------------

TEST(EventValidation, TimestampDefaultsToReceipt) {
    EXPECT_EQ(accepted(base_event()).occurred_at, now);
}

TEST(EventValidation, TimestampAcceptsRfc3339) {
    EXPECT_EQ(accepted(with("timestamp", "2026-05-31T12:00:00.250+02:00")).occurred_at, 1780221600250);
    EXPECT_EQ(accepted(with("timestamp", " 2026-05-31T10:00:00.250Z ")).occurred_at, 1780221600250);
}

TEST(EventValidation, TimestampAcceptsUnixSecondsAsNumberOrString) {
    const millis hour_ago = now - 60 * minute_ms;
    const millis secs = hour_ago / 1000;
    EXPECT_EQ(accepted(with("timestamp", secs)).occurred_at, hour_ago);
    EXPECT_EQ(accepted(with("timestamp", std::to_string(secs))).occurred_at, hour_ago);
    EXPECT_EQ(accepted(with("timestamp", std::to_string(secs) + ".25")).occurred_at, hour_ago + 250);
    EXPECT_EQ(accepted(with("timestamp", static_cast<double>(secs) + 0.5)).occurred_at, hour_ago + 500);
    // Sub-millisecond digits are truncated, not rounded.
    EXPECT_EQ(accepted(with("timestamp", std::to_string(secs) + ".9999")).occurred_at, hour_ago + 999);
}

TEST(EventValidation, TimestampFrom10To11IsMilliseconds) {
    const millis hour_ago = now - 60 * minute_ms;
    EXPECT_EQ(accepted(with("timestamp", hour_ago)).occurred_at, hour_ago);                  // Date.now()
    EXPECT_EQ(accepted(with("timestamp", std::to_string(hour_ago))).occurred_at, hour_ago);  // as a string
    EXPECT_EQ(accepted(with("timestamp", std::to_string(hour_ago) + ".75")).occurred_at, hour_ago);
    // Just below 10^11 it is seconds (year 5138: far in the future), from 10^11 milliseconds (1973: too old).
    EXPECT_EQ(problems(validate(with("timestamp", 99999999999LL))),
              one("timestamp", "is more than 10 minutes in the future"));
    EXPECT_EQ(problems(validate(with("timestamp", 100000000000LL))),
              one("timestamp", "is more than 90 days in the past"));
}

TEST(EventValidation, TimestampIsAtMost90DaysOld) {
    const millis oldest = now - 90 * day_ms;
    EXPECT_EQ(accepted(with("timestamp", oldest / 1000)).occurred_at, oldest);
    EXPECT_EQ(accepted(with("timestamp", std::to_string(oldest / 1000) + ".000")).occurred_at, oldest);
    EXPECT_EQ(problems(validate(with("timestamp", std::to_string(oldest / 1000 - 1) + ".999"))),
              one("timestamp", "is more than 90 days in the past"));
    EXPECT_EQ(problems(validate(with("timestamp", "2026-03-02T23:59:59.999Z"))),
              one("timestamp", "is more than 90 days in the past"));
    EXPECT_TRUE(validate(with("timestamp", "2026-03-03T00:00:00Z")).ok());
    EXPECT_EQ(problems(validate(with("timestamp", -1))), one("timestamp", "is more than 90 days in the past"));
    EXPECT_EQ(problems(validate(with("timestamp", 0))), one("timestamp", "is more than 90 days in the past"));
}

TEST(EventValidation, TimestampIsAtMost10MinutesAhead) {
    const millis latest = now + 10 * minute_ms;
    EXPECT_EQ(accepted(with("timestamp", latest / 1000)).occurred_at, latest);
    EXPECT_EQ(accepted(with("timestamp", "2026-06-01T00:10:00Z")).occurred_at, latest);
    EXPECT_EQ(problems(validate(with("timestamp", "2026-06-01T00:10:00.001Z"))),
              one("timestamp", "is more than 10 minutes in the future"));
    EXPECT_EQ(problems(validate(with("timestamp", std::to_string(latest / 1000) + ".001"))),
              one("timestamp", "is more than 10 minutes in the future"));
    // Milliseconds are milliseconds; huge numbers do not overflow.
    EXPECT_EQ(problems(validate(with("timestamp", latest + 1))),
              one("timestamp", "is more than 10 minutes in the future"));
    EXPECT_EQ(problems(validate(with("timestamp", 1e20))), one("timestamp", "is more than 10 minutes in the future"));
    EXPECT_EQ(problems(validate(with("timestamp", "99999999999999999999"))),
              one("timestamp", "is more than 10 minutes in the future"));
}

TEST(EventValidation, TimestampRefusesOtherShapes) {
    for (const json& value : {json(true), json("yesterday"), json("2026-05-31 12:00:00Z"), json("2026-05-31"),
                              json::object(), json::array({1}), json("1.2.3")}) {
        EXPECT_EQ(problems(validate(with("timestamp", value))),
                  one("timestamp", "must be an RFC 3339 date-time or Unix time in seconds (or milliseconds when >= 10^11)"))
            << value.dump();
    }
}

// ---- properties --------------------------------------------------------------------------

TEST(EventValidation, PropertiesObjectIsStoredSerialized) {
    EXPECT_EQ(accepted(with("properties", {{"plan", "pro"}, {"seats", 3}})).properties,
              R"({"plan":"pro","seats":3})");
    EXPECT_EQ(accepted(with("properties", json::object())).properties, "{}");
}

TEST(EventValidation, PropertiesAreAtMost8192BytesSerialized) {
    // {"k":"<n>"} serializes to n + 8 bytes.
    EXPECT_EQ(accepted(with("properties", {{"k", repeat("x", 8184)}})).properties.value_or("").size(), 8192u);
    EXPECT_EQ(problems(validate(with("properties", {{"k", repeat("x", 8185)}}))),
              one("properties", "must be at most 8192 bytes when serialized"));
}

TEST(EventValidation, PropertiesMustBeAnObject) {
    for (const json& value : {json::array({1}), json(5), json(true), json("plain text"), json("[1]"),
                              json("{\"a\":")}) {
        EXPECT_EQ(problems(validate(with("properties", value))), one("properties", "must be a JSON object"))
            << value.dump();
    }
}

TEST(EventValidation, PropertiesMayArriveAsJsonTextFromForms) {
    EXPECT_EQ(accepted(with("properties", R"( {"plan": "pro"} )")).properties, R"({"plan":"pro"})");
    // The embedded text gets the reader's limits too.
    std::string deep = std::string(40, '[') + std::string(40, ']');
    EXPECT_EQ(problems(validate(with("properties", "{\"a\":" + deep + "}"))),
              one("properties", "must be a JSON object"));
    EXPECT_EQ(problems(validate(with("properties", "{\"k\":\"" + repeat("x", 8185) + "\"}"))),
              one("properties", "must be at most 8192 bytes when serialized"));
}

TEST(EventValidation, PropertiesWithInvalidUtf8AreRefused) {
    EXPECT_EQ(problems(validate_event(with("properties", {{"k", std::string("\xff")}}), nullptr, "raw", now)),
              one("properties", "must be valid UTF-8"));
}

// ---- form bodies -------------------------------------------------------------------------

TEST(EventValidation, FormBodyEventIsReadLikeJson) {
    std::string error;
    const auto form = cc::events::decode_form(
        "event=purchase&email=+Jane%40Example.com&phone=&value=99.99&currency=usd"
        "&timestamp=1780271000&properties=%7B%22plan%22%3A%22pro%22%7D&utm=x",
        error);
    ASSERT_TRUE(form) << error;
    const auto result = validate_event(*form, nullptr, "form body", now);
    ASSERT_TRUE(result.ok());
    const auto& e = *result.value;
    EXPECT_EQ(e.email, "jane@example.com");
    EXPECT_FALSE(e.phone);
    EXPECT_EQ(e.value, "99.99");
    EXPECT_EQ(e.currency, "USD");
    EXPECT_EQ(e.occurred_at, 1780271000000);
    EXPECT_EQ(e.properties, R"({"plan":"pro"})");
    EXPECT_EQ(e.raw, "form body");
}

}  // namespace
