#pragma once
#include <nlohmann/json.hpp>

#include "cc/keys/key_service.hpp"
#include "cc/storage/records.hpp"

namespace cc::api {

/// @brief JSON of a domain: domain, plan, key_limit (null = unlimited), active_keys, created_at.
nlohmann::json to_json(const keys::domain_view& d);

/// @brief The SPEC's key object; never the key's value or hash.
nlohmann::json to_json(const keys::key_view& k);

/// @brief A created (or rolled-to) key: the key object with the full key, shown this once,
/// and the key it was rolled from.
nlohmann::json to_json(const keys::created_key& created);

/// @brief A domain's keys: the domain object (without its created_at) and `keys`.
nlohmann::json to_json(const keys::key_listing& listing);

/// @brief An event as listed by GET /admin/events, serialized: `value` is the stored
/// decimal text written as a JSON number, exactly as sent (no binary rounding).
std::string event_json_text(const storage::event_record& e);

/// @brief True when `text` is a JSON number (RFC 8259 grammar).
bool is_json_number(std::string_view text);

/// @brief An audit entry.
nlohmann::json to_json(const storage::audit_record& a);

/// @brief An RFC 3339 time, or null.
nlohmann::json time_or_null(const std::optional<util::millis>& at);

}  // namespace cc::api
