#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "cc/events/event.hpp"
#include "cc/util/clock.hpp"

namespace cc::events {

/// @brief Limits of the SPEC's event fields (section 2), shared with docs and tests.
inline constexpr std::size_t max_event_name_chars = 64;
inline constexpr std::size_t max_email_chars = 254;
inline constexpr std::size_t min_phone_digits = 7;
inline constexpr std::size_t max_phone_digits = 15;
inline constexpr std::size_t max_external_id_chars = 256;
inline constexpr std::size_t max_click_id_chars = 512;
inline constexpr std::size_t max_event_id_chars = 128;
inline constexpr std::size_t max_properties_bytes = 8192;
inline constexpr util::millis max_event_age_ms = 90LL * 24 * 60 * 60 * 1000;
inline constexpr util::millis max_event_lead_ms = 10LL * 60 * 1000;

/// @brief Validates and normalizes one event; collects every problem, one per bad field.
///
/// @param object     one event: a JSON object, or a decoded form (every value a string).
///                   Anything else yields the single problem
///                   {"(event)", "must be a JSON object"}.
/// @param value_text the exact source text of `value` when it is a JSON float (see
///                   json_document::value_texts); nullptr otherwise. Without it a float
///                   falls back to nlohmann's shortest round-trip text of the double.
/// @param raw        stored as event::raw (the event as received).
/// @param now        the time of receipt: the default `occurred_at` and the reference for
///                   the `timestamp` window.
///
/// Strings are assumed to be valid UTF-8 (read_json and decode_form guarantee it); text
/// lengths count code points. Text fields are trimmed of ASCII whitespace. A missing
/// field, a JSON null and an empty or all-blank string are all "absent". The rule that some identifier must be present reports on the
/// field name "identifier", since it belongs to no single field. Unknown fields are ignored.
validation_result validate_event(const nlohmann::json& object, const std::string* value_text,
                                 std::string raw, util::millis now);

}  // namespace cc::events
