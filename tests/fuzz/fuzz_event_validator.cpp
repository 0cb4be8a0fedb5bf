// Fuzzes what an inbound body goes through before storage: the JSON reader (depth and
// UTF-8 limits, exact `value` texts), the form decoder, and the event validator, for one
// event and for every element of a batch. Beyond crashes and sanitizer reports, it checks
// the rules an accepted event must satisfy (SPEC section 2), so a validator that lets a
// broken event through fails here too.
//
// Input: the first byte picks the path (JSON or form); the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cc/events/decimal.hpp"
#include "cc/events/event_validator.hpp"
#include "cc/events/form_decoder.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/util/rfc3339.hpp"

namespace {

using cc::events::event;

// A fixed receipt time, so a finding reproduces: 2026-01-01T00:00:00Z.
constexpr cc::util::millis now_ms = 1'767'225'600'000;

[[noreturn]] void broken(const char* rule, std::string_view detail = {}) {
    std::fprintf(stderr, "rule broken: %s [%.*s]\n", rule, static_cast<int>(detail.size()), detail.data());
    std::abort();
}


bool is_lower_hex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

bool is_canonical_decimal(const std::string& text) {
    const auto again = cc::events::parse_decimal(text);
    return again.ok() && again.text == text;
}

/// @brief What every accepted event must look like, whatever was sent.
void check_accepted(const event& e) {
    if (e.name.empty() || e.name.size() > cc::events::max_event_name_chars) broken("event name length", e.name);
    for (char c : e.name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == ':' || c == '-' || c == ' ';
        if (!ok) broken("event name characters", e.name);
    }
    if (e.name.front() == ' ' || e.name.back() == ' ') broken("event name is trimmed", e.name);
    if (!e.email && !e.email_sha256 && !e.phone && !e.phone_sha256 && !e.external_id && !e.click_id) {
        broken("at least one identifier");
    }
    if (e.email) {
        if (e.email->size() > 4 * cc::events::max_email_chars) broken("email length", *e.email);
        if (e.email->find('@') == std::string::npos) broken("email has an @", *e.email);
        for (char c : *e.email) {
            if (c >= 'A' && c <= 'Z') broken("email is lower-cased", *e.email);
        }
        if (!e.email_sha256) broken("email comes with its hash");
    }
    if (e.email_sha256 && !is_lower_hex64(*e.email_sha256)) broken("email hash is lower-case hex", *e.email_sha256);
    if (e.phone) {
        const auto& p = *e.phone;
        if (p.size() < 1 + cc::events::min_phone_digits || p.size() > 1 + cc::events::max_phone_digits || p[0] != '+') {
            broken("phone is E.164", p);
        }
        for (std::size_t i = 1; i < p.size(); ++i) {
            if (p[i] < '0' || p[i] > '9') broken("phone is E.164 digits", p);
        }
        if (!e.phone_sha256) broken("phone comes with its hash");
    }
    if (e.phone_sha256 && !is_lower_hex64(*e.phone_sha256)) broken("phone hash is lower-case hex", *e.phone_sha256);
    if (e.value) {
        if (!is_canonical_decimal(*e.value)) broken("value is a canonical decimal", *e.value);
        if (!e.currency) broken("currency is required with value");
    }
    if (e.currency) {
        if (e.currency->size() != 3) broken("currency is 3 letters", *e.currency);
        for (char c : *e.currency) {
            if (c < 'A' || c > 'Z') broken("currency is upper-case", *e.currency);
        }
    }
    if (e.event_id && (e.event_id->empty() || e.event_id->size() > 4 * cc::events::max_event_id_chars)) {
        broken("event_id length", *e.event_id);
    }
    if (e.occurred_at < now_ms - cc::events::max_event_age_ms || e.occurred_at > now_ms + cc::events::max_event_lead_ms) {
        broken("timestamp window");
    }
    if (e.properties) {
        if (e.properties->size() > cc::events::max_properties_bytes) broken("properties size");
        std::string error;
        const auto doc = cc::events::read_json(*e.properties, error);
        if (!doc || !doc->root.is_object()) broken("properties is a JSON object", *e.properties);
    }
    // Whatever is stored must be printable as JSON later (admin listings dump it), as the
    // exact text received: strict UTF-8, no replacement characters.
    nlohmann::json view = {{"event", e.name}};
    if (e.email) view["email"] = *e.email;
    if (e.external_id) view["external_id"] = *e.external_id;
    if (e.click_id) view["click_id"] = *e.click_id;
    if (e.event_id) view["event_id"] = *e.event_id;
    (void)view.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    // (corpus/fuzz_event_validator/crash-form-raw-not-utf8: a form body whose literal bytes
    // were not UTF-8 but decoded to UTF-8, `\xC3%A9`, used to be accepted and stored as is.)
    if (!cc::events::is_valid_utf8(e.raw)) broken("the stored raw body is UTF-8", e.raw);
}

void validate(const nlohmann::json& object, const std::string* value_text, std::string raw) {
    const auto result = cc::events::validate_event(object, value_text, std::move(raw), now_ms);
    if (result.ok()) {
        if (!result.problems.empty()) broken("an accepted event has no problems");
        check_accepted(*result.value);
    } else if (result.problems.empty()) {
        broken("a refused event names its problems");
    }
}

void fuzz_json(std::string_view body) {
    std::string error;
    const auto doc = cc::events::read_json(body, error);
    if (!doc) {
        if (error.empty()) broken("a refused body says why");
        return;
    }
    // Every captured `value` text must itself be a number's text.
    for (const auto& [pointer, text] : doc->value_texts) {
        if (text.empty() || cc::events::value_text_at(*doc, pointer) != &text) broken("value_texts lookup", pointer);
    }
    // Single endpoint: the whole body is the event.
    validate(doc->root, cc::events::value_text_at(*doc, "/value"), std::string(body));
    // Batch endpoint: each element of "events", with its own value text.
    if (doc->root.is_object()) {
        const auto events = doc->root.find("events");
        if (events != doc->root.end() && events->is_array()) {
            std::size_t i = 0;
            for (const auto& element : *events) {
                if (i >= 500) break;
                const auto text = cc::events::value_text_at(*doc, "/events/" + std::to_string(i) + "/value");
                validate(element, text, element.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                ++i;
            }
        }
    }
}

void fuzz_form(std::string_view body) {
    std::string error;
    const auto form = cc::events::decode_form(body, error);
    if (!form) {
        if (error.empty()) broken("a refused form says why");
        return;
    }
    if (!form->is_object()) broken("a decoded form is an object");
    for (const auto& [name, value] : form->items()) {
        if (!value.is_string()) broken("every form value is a string", name);
        if (!cc::events::is_valid_utf8(name) || !cc::events::is_valid_utf8(value.get_ref<const std::string&>())) {
            broken("decoded form text is UTF-8", name);
        }
    }
    validate(*form, nullptr, std::string(body));
}

void fuzz_scalars(std::string_view text) {
    // The exact decimal reader: canonical output reads back as itself.
    const auto decimal = cc::events::parse_decimal(text);
    if (decimal.ok() && !is_canonical_decimal(decimal.text)) broken("decimal canonical form is stable", decimal.text);
    // RFC 3339: what parses, formats, and the formatted text parses back to the same instant.
    if (const auto at = cc::util::parse_rfc3339(text)) {
        // (corpus/fuzz_event_validator/crash-rfc3339-year-10000: a 9999-12-31 local time
        // with a negative offset used to parse into year 10000 and format with 5 digits.)
        const auto formatted = cc::util::format_rfc3339(*at);
        const auto back = cc::util::parse_rfc3339(formatted);
        if (!back || *back != *at) broken("rfc3339 round trip", formatted);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
        case 1: fuzz_json(body); break;
        case 2: fuzz_form(body); break;
        default: fuzz_scalars(body); break;
    }
    return 0;
}
