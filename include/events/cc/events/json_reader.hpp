#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace cc::events {

/// @brief The top-level fields of an event that validation reads (SPEC section 2).
inline constexpr std::string_view event_field_names[] = {
    "event", "email", "phone", "external_id", "click_id", "value", "currency", "event_id", "timestamp", "properties"};

/// @brief Deepest nesting read_json accepts (the top-level value is depth 1).
inline constexpr std::size_t max_json_depth = 32;

/// @brief A parsed JSON body, plus what the DOM alone would lose: the exact source text of
/// the event fields `value` and the source bytes of each batch element.
struct json_document {
    nlohmann::json root;
    /// JSON pointer -> the number exactly as written, for the floating-point numbers at the
    /// two places an event's `value` lives: "/value" (a single event) and "/events/N/value"
    /// (element N of a batch). Only those fixed paths are captured, so the cost of reading
    /// stays linear in the body whatever its keys. Integers are exact in `root` already.
    std::unordered_map<std::string, std::string> value_texts;
    /// When the root is an object with an `events` array: the exact source bytes of each
    /// element (a view into the body given to read_json), so a batch element is stored byte
    /// for byte as sent. An element that is not an object has an empty view.
    std::vector<std::string_view> event_texts;
};

/// @brief Parses a JSON body in one pass, without throwing. The whole body must be one JSON
/// value (whitespace around it allowed; a NUL byte or anything else after it is refused),
/// valid UTF-8, nested at most max_json_depth deep, and no object may hold the same member
/// name twice (compared after unescaping, so `"ev\u0065nts"` and `"events"` are the same
/// name): a document whose meaning depends on which duplicate a reader keeps is refused
/// rather than guessed at. On refusal returns nullopt and sets `error` to a sentence for the
/// client (`The body is not valid JSON (error near byte 2).`) that never quotes the body.
std::optional<json_document> read_json(std::string_view body, std::string& error);

/// @brief What an inbound body is, so read_events keeps only what validation reads.
enum class body_shape {
    any,           ///< keep everything (read_json)
    single_event,  ///< the root is one event
    batch,         ///< the root holds `events`, an array of events
};

/// @brief read_json with the same checks, for an inbound body: only the event fields
/// (event_field_names) of each event, and for a batch only its `events` member, are built
/// into `root`; every other member keeps its name with a null value, and its contents are
/// checked but never materialized. So unknown fields, however large or deep, cost no more
/// than reading their bytes, and an event is validated from exactly the fields it has.
std::optional<json_document> read_events(std::string_view body, body_shape shape, std::string& error);

/// @brief The captured source text at `pointer`, or nullptr when none was captured
/// (no such value, or it was an integer, string or other non-float).
const std::string* value_text_at(const json_document& document, const std::string& pointer);

/// @brief True when `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF). Shared by the JSON reader and the form decoder.
bool is_valid_utf8(std::string_view bytes) noexcept;

/// @brief The offset of the first byte that breaks UTF-8 well-formedness, or npos.
std::size_t invalid_utf8_offset(std::string_view bytes) noexcept;

}  // namespace cc::events
