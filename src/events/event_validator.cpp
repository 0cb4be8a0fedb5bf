#include "cc/events/event_validator.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "cc/events/currency.hpp"
#include "cc/events/decimal.hpp"
#include "cc/events/json_reader.hpp"
#include "cc/util/crypto.hpp"
#include "cc/util/rfc3339.hpp"
#include "cc/util/text.hpp"

namespace cc::events {

namespace {

using json = nlohmann::json;
using util::millis;

// Problem texts: the wording clients see in `details`.
constexpr std::string_view p_required = "is required";
constexpr std::string_view p_string = "must be a string";
constexpr std::string_view p_event_name =
    "must be 1-64 characters of letters, digits, _ . : - and space";
constexpr std::string_view p_email = "must be an email address like name@example.com";
constexpr std::string_view p_email_long = "must be at most 254 characters";
constexpr std::string_view p_phone =
    "must be 7-15 digits with the country code, optionally starting with + or 00 (E.164, first digit not 0)";
constexpr std::string_view p_external_id_long = "must be at most 256 characters";
constexpr std::string_view p_click_id_long = "must be at most 512 characters";
constexpr std::string_view p_identifier =
    "at least one of email, phone, external_id, click_id is required";
constexpr std::string_view p_number = "must be a number";
constexpr std::string_view p_non_negative = "must be >= 0";
constexpr std::string_view p_too_large = "must have at most 18 digits before the decimal point";
constexpr std::string_view p_too_precise = "must have at most 18 digits after the decimal point";
constexpr std::string_view p_currency_required = "is required when value is present";
constexpr std::string_view p_currency = "is not an ISO 4217 currency code";
constexpr std::string_view p_event_id = "must be 1-128 characters";
constexpr std::string_view p_timestamp =
    "must be an RFC 3339 date-time or Unix time in seconds (or milliseconds when >= 10^11)";
constexpr std::string_view p_string_or_integer = "must be a string or an integer";
constexpr std::string_view p_number_symbols =
    "must be a plain number: currency symbols and thousands separators are not allowed (e.g. 1299.00)";
constexpr std::string_view p_too_old = "is more than 90 days in the past";
constexpr std::string_view p_too_new = "is more than 10 minutes in the future";
constexpr std::string_view p_object = "must be a JSON object";
constexpr std::string_view p_properties_large = "must be at most 8192 bytes when serialized";
constexpr std::string_view p_utf8 = "must be valid UTF-8";

// A field as the rules see it: absent, a trimmed non-blank string, or some other JSON type.
enum class field_kind { absent, text, other };

struct field {
    field_kind kind = field_kind::absent;
    const json* node = nullptr;
    std::string_view text;  // trimmed; only for kind::text

    bool present() const noexcept { return kind != field_kind::absent; }
};

using util::trim;

// Zapier sends unmapped fields as "", and many clients send null: both mean "not sent".
field lookup(const json& object, std::string_view name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        return {};
    }
    if (it->is_string()) {
        const std::string_view text = trim(it->get_ref<const std::string&>());
        if (text.empty()) {
            return {};
        }
        return {field_kind::text, &*it, text};
    }
    return {field_kind::other, &*it, {}};
}

// Code points, not bytes: the limits are what a user would count as characters.
using util::utf8_length;

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr char to_lower(char c) noexcept { return util::ascii_lower(c); }

constexpr char to_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }

bool is_hex_sha256(std::string_view s) noexcept {
    if (s.size() != 64) {
        return false;
    }
    for (char c : s) {
        const char l = to_lower(c);
        if (!is_digit(l) && !(l >= 'a' && l <= 'f')) {
            return false;
        }
    }
    return true;
}

std::string lower_ascii(std::string_view s) { return util::ascii_lower(s); }

class problem_list {
public:
    void add(std::string_view field, std::string_view problem) {
        items_.push_back({std::string(field), std::string(problem)});
    }
    bool empty() const noexcept { return items_.empty(); }
    std::vector<field_problem> take() { return std::move(items_); }

private:
    std::vector<field_problem> items_;
};

// ---- one function per rule -------------------------------------------------------

constexpr bool is_event_name_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' ||
           c == ':' || c == '-' || c == ' ';
}

void check_event_name(const json& object, event& out, problem_list& problems) {
    const field f = lookup(object, "event");
    if (!f.present()) {
        problems.add("event", p_required);
        return;
    }
    if (f.kind != field_kind::text) {
        problems.add("event", p_string);
        return;
    }
    // The allowed characters are ASCII, so bytes are characters here.
    bool ok = f.text.size() <= max_event_name_chars;
    for (std::size_t i = 0; ok && i < f.text.size(); ++i) {
        ok = is_event_name_char(f.text[i]);
    }
    if (!ok) {
        problems.add("event", p_event_name);
        return;
    }
    out.name.assign(f.text);
}

bool is_email_shape(std::string_view email) noexcept {
    const std::size_t at = email.find('@');
    if (at == 0 || at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (char c : email) {
        // Whitespace and control characters have no place in an address.
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return false;
        }
    }
    const std::string_view domain = email.substr(at + 1);
    return domain.find('.') != std::string_view::npos && domain.front() != '.' && domain.back() != '.' &&
           domain.find("..") == std::string_view::npos;
}

// Returns whether the field was sent, for the identifier rule.
bool check_email(const json& object, event& out, problem_list& problems) {
    const field f = lookup(object, "email");
    if (!f.present()) {
        return false;
    }
    if (f.kind != field_kind::text) {
        problems.add("email", p_string);
        return true;
    }
    if (is_hex_sha256(f.text)) {
        out.email_sha256 = lower_ascii(f.text);  // already hashed: never hash twice
        return true;
    }
    if (utf8_length(f.text) > max_email_chars) {
        problems.add("email", p_email_long);
        return true;
    }
    if (!is_email_shape(f.text)) {
        problems.add("email", p_email);
        return true;
    }
    std::string normalized = lower_ascii(f.text);
    out.email_sha256 = util::sha256_hex(normalized);
    out.email = std::move(normalized);
    return true;
}

bool check_phone(const json& object, event& out, problem_list& problems) {
    const field f = lookup(object, "phone");
    if (!f.present()) {
        return false;
    }
    if (f.kind != field_kind::text) {
        problems.add("phone", p_string);
        return true;
    }
    if (is_hex_sha256(f.text)) {
        out.phone_sha256 = lower_ascii(f.text);
        return true;
    }
    // E.164: "+" then the digits; a number without "+" is taken to carry its country code.
    std::string e164;
    e164.reserve(max_phone_digits + 1);
    e164.push_back('+');
    bool ok = true;
    bool plus_seen = false;
    for (const char c : f.text) {
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
            continue;  // formatting people type, not part of the number
        }
        if (c == '+' && !plus_seen && e164.size() == 1) {
            plus_seen = true;  // one "+", before any digit
            continue;
        }
        if (!is_digit(c) || e164.size() > max_phone_digits + 2) {
            ok = false;  // also stops early on absurdly long input
            break;
        }
        e164.push_back(c);
    }
    // "00" is the international call prefix: 0044... is +44...
    if (ok && !plus_seen && e164.size() >= 3 && e164[1] == '0' && e164[2] == '0') {
        e164.erase(1, 2);
    }
    const std::size_t digits = e164.size() - 1;
    // E.164 numbers start with a country code, and none begins with 0.
    if (!ok || digits < min_phone_digits || digits > max_phone_digits || e164[1] == '0') {
        problems.add("phone", p_phone);
        return true;
    }
    out.phone_sha256 = util::sha256_hex(e164);
    out.phone = std::move(e164);
    return true;
}

// A JSON integer's decimal text (CRMs send numeric ids as numbers), else nullopt.
std::optional<std::string> integer_text(const json& node) {
    if (node.is_number_unsigned()) {
        return std::to_string(node.get<json::number_unsigned_t>());
    }
    if (node.is_number_integer()) {
        return std::to_string(node.get<json::number_integer_t>());
    }
    return std::nullopt;
}

bool check_bounded_text(const json& object, std::string_view name, std::size_t max_chars,
                        std::string_view too_long, std::optional<std::string>& out, problem_list& problems,
                        bool integer_allowed = false) {
    const field f = lookup(object, name);
    if (!f.present()) {
        return false;
    }
    if (f.kind != field_kind::text) {
        if (auto digits = integer_allowed ? integer_text(*f.node) : std::nullopt) {
            out = std::move(digits);
        } else {
            problems.add(name, integer_allowed ? p_string_or_integer : p_string);
        }
    } else if (utf8_length(f.text) > max_chars) {
        problems.add(name, too_long);
    } else {
        out.emplace(f.text);
    }
    return true;
}

void check_identifier(bool any_present, problem_list& problems) {
    if (!any_present) {
        problems.add("identifier", p_identifier);
    }
}

// Where a JSON number's text comes from: integers print exactly; a float's source text
// is captured by the JSON reader, else its shortest round-trip form is the best we have.
std::string number_text(const json& node, const std::string* source_text) {
    if (node.is_number_unsigned()) {
        return std::to_string(node.get<json::number_unsigned_t>());
    }
    if (node.is_number_integer()) {
        return std::to_string(node.get<json::number_integer_t>());
    }
    return source_text != nullptr ? *source_text : node.dump();
}

// "$99.99", "1,299.00", "99.99 EUR": a price as people write it, not a number.
bool has_symbols_or_separators(std::string_view text) noexcept {
    bool digit = false;
    bool other = false;
    for (const char c : text) {
        if (is_digit(c)) {
            digit = true;
        } else if (c != '.' && c != '-' && c != '+' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')) {
            other = true;
        }
    }
    return digit && other;
}

bool check_value(const json& object, const std::string* value_text, event& out, problem_list& problems) {
    const field f = lookup(object, "value");
    if (!f.present()) {
        return false;
    }
    decimal_result parsed;
    if (f.kind == field_kind::text) {
        parsed = parse_decimal(f.text);  // Zapier often sends "99.99"
    } else if (f.node->is_number()) {
        parsed = parse_decimal(number_text(*f.node, f.node->is_number_float() ? value_text : nullptr));
    }
    switch (parsed.status) {
        case decimal_status::ok: out.value = std::move(parsed.text); break;
        case decimal_status::not_a_number:
            problems.add("value", f.kind == field_kind::text && has_symbols_or_separators(f.text) ? p_number_symbols
                                                                                                  : p_number);
            break;
        case decimal_status::negative: problems.add("value", p_non_negative); break;
        case decimal_status::too_large: problems.add("value", p_too_large); break;
        case decimal_status::too_precise: problems.add("value", p_too_precise); break;
    }
    return true;
}

void check_currency(const json& object, bool value_present, event& out, problem_list& problems) {
    const field f = lookup(object, "currency");
    if (!f.present()) {
        if (value_present) {
            problems.add("currency", p_currency_required);
        }
        return;
    }
    if (f.kind != field_kind::text) {
        problems.add("currency", p_string);
        return;
    }
    if (f.text.size() != 3) {
        problems.add("currency", p_currency);
        return;
    }
    std::string code{to_upper(f.text[0]), to_upper(f.text[1]), to_upper(f.text[2])};
    if (!is_iso4217(code)) {
        problems.add("currency", p_currency);
        return;
    }
    out.currency = std::move(code);
}

void check_event_id(const json& object, event& out, problem_list& problems) {
    const field f = lookup(object, "event_id");
    if (!f.present()) {
        return;
    }
    if (f.kind != field_kind::text) {
        if (auto digits = integer_text(*f.node)) {
            out.event_id = std::move(digits);  // at most 20 characters
        } else {
            problems.add("event_id", p_string_or_integer);
        }
    } else if (utf8_length(f.text) > max_event_id_chars) {
        problems.add("event_id", p_event_id);
    } else {
        out.event_id.emplace(f.text);
    }
}

// Stand-ins for times far outside any window, so huge or negative seconds fail the window
// check with the right wording instead of overflowing.
constexpr millis far_future = std::numeric_limits<millis>::max() / 4;
constexpr millis far_past = std::numeric_limits<millis>::min() / 4;

// Unix seconds (possibly fractional) to milliseconds, exactly, via the decimal digits.
std::optional<millis> unix_seconds_to_ms(std::string_view text) {
    const decimal_result parsed = parse_decimal(text);
    switch (parsed.status) {
        case decimal_status::ok: break;
        case decimal_status::negative: return far_past;
        case decimal_status::too_large: return far_future;
        case decimal_status::not_a_number:
        case decimal_status::too_precise: return std::nullopt;
    }
    const std::string_view canonical = parsed.text;
    const std::size_t point = std::min(canonical.find('.'), canonical.size());
    // 10^11 and more is milliseconds (JavaScript's Date.now(), HubSpot): as seconds it would
    // be the year 5138. Past 10^16 ms (year 318857) it only needs to be "far".
    if (point >= 12) {
        if (point > 16) {
            return far_future;
        }
        millis ms = 0;
        for (std::size_t i = 0; i < point; ++i) {
            ms = ms * 10 + (canonical[i] - '0');  // sub-millisecond digits are truncated
        }
        return ms;
    }
    millis ms = 0;
    for (std::size_t i = 0; i < point; ++i) {
        ms = ms * 10 + (canonical[i] - '0');
    }
    ms *= 1000;
    millis scale = 100;
    for (std::size_t i = point + 1; i < canonical.size() && scale > 0; ++i, scale /= 10) {
        ms += (canonical[i] - '0') * scale;  // sub-millisecond digits are truncated
    }
    return ms;
}

void check_timestamp(const json& object, millis now, event& out, problem_list& problems) {
    out.occurred_at = now;
    const field f = lookup(object, "timestamp");
    if (!f.present()) {
        return;
    }
    std::optional<millis> at;
    if (f.kind == field_kind::text) {
        at = util::parse_rfc3339(f.text);
        if (!at) {
            at = unix_seconds_to_ms(f.text);  // form bodies send seconds as strings
        }
    } else if (f.node->is_number()) {
        at = unix_seconds_to_ms(number_text(*f.node, nullptr));
    }
    if (!at) {
        problems.add("timestamp", p_timestamp);
    } else if (*at < now - max_event_age_ms) {
        problems.add("timestamp", p_too_old);
    } else if (*at > now + max_event_lead_ms) {
        problems.add("timestamp", p_too_new);
    } else {
        out.occurred_at = *at;
    }
}

void check_properties(const json& object, event& out, problem_list& problems) {
    const field f = lookup(object, "properties");
    if (!f.present()) {
        return;
    }
    std::string serialized;
    try {
        if (f.kind == field_kind::text) {
            // A form body can only carry the object as text; read it with the same limits.
            std::string error;
            const auto document = read_json(f.text, error);
            if (!document || !document->root.is_object()) {
                problems.add("properties", p_object);
                return;
            }
            serialized = document->root.dump();
        } else if (f.node->is_object()) {
            serialized = f.node->dump();
        } else {
            problems.add("properties", p_object);
            return;
        }
    } catch (const json::exception&) {
        // dump() refuses invalid UTF-8, which only an object not from read_json can hold.
        problems.add("properties", p_utf8);
        return;
    }
    if (serialized.size() > max_properties_bytes) {
        problems.add("properties", p_properties_large);
        return;
    }
    out.properties = std::move(serialized);
}

}  // namespace

validation_result validate_event(const json& object, const std::string* value_text, std::string raw,
                                 millis now) {
    validation_result result;
    if (!object.is_object()) {
        result.problems.push_back({"(event)", std::string(p_object)});
        return result;
    }
    event out;
    problem_list problems;
    check_event_name(object, out, problems);
    // Every identifier is checked (not short-circuited) so each bad one is reported, in order.
    const bool has_email = check_email(object, out, problems);
    const bool has_phone = check_phone(object, out, problems);
    const bool has_external_id = check_bounded_text(object, "external_id", max_external_id_chars,
                                                    p_external_id_long, out.external_id, problems, true);
    const bool has_click_id =
        check_bounded_text(object, "click_id", max_click_id_chars, p_click_id_long, out.click_id, problems);
    check_identifier(has_email || has_phone || has_external_id || has_click_id, problems);
    const bool value_present = check_value(object, value_text, out, problems);
    check_currency(object, value_present, out, problems);
    check_event_id(object, out, problems);
    check_timestamp(object, now, out, problems);
    check_properties(object, out, problems);

    if (!problems.empty()) {
        result.problems = problems.take();
        return result;
    }
    out.raw = std::move(raw);
    result.value = std::move(out);
    return result;
}

}  // namespace cc::events
