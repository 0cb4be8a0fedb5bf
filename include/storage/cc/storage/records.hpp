#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cc/events/event.hpp"
#include "cc/util/clock.hpp"

namespace cc::storage {

/// @brief A customer's domain and its plan.
struct domain_record {
    std::string domain;
    std::string plan;
    util::millis created_at = 0;
};

/// @brief An inbound key as stored: its hash, never its value.
struct key_record {
    std::string id;
    std::string domain;
    std::string name;
    std::string prefix;
    std::string hash;    ///< raw 32-byte SHA-256 of the full key
    std::string status;  ///< "active" or "revoked"; "expired" is derived from expires_at
    util::millis created_at = 0;
    std::optional<util::millis> last_used_at;
    std::optional<std::string> last_used_ip;
    std::optional<util::millis> revoked_at;
    std::optional<util::millis> expires_at;
    std::optional<std::string> rolled_to;  ///< the successor's id once the key is rolled
    std::vector<std::string> allowed_ips;  ///< normalized CIDR blocks; empty: any address
    std::optional<util::millis> exposed_at;     ///< first seen in a browser request
    std::optional<std::string> exposed_origin;  ///< the Origin (or Sec-Fetch-Site) it came with
};

/// @brief One entry of the audit trail.
struct audit_record {
    std::int64_t id = 0;  ///< assigned by the store
    util::millis at = 0;
    std::string actor;    ///< a non-secret admin token id, or "cli"
    std::optional<std::string> client_ip;
    std::string action;   ///< e.g. "key.created"
    std::optional<std::string> domain;
    std::optional<std::string> key_id;
    std::optional<std::string> details;  ///< JSON text
};

/// @brief An accepted event on its way to storage.
struct event_insert {
    std::string domain;
    std::string key_id;
    util::millis received_at = 0;
    const events::event* event = nullptr;  ///< event_id is set
};

/// @brief An event as stored, for listing.
struct event_record {
    std::int64_t seq = 0;
    std::string domain;
    std::string key_id;
    std::optional<std::string> key_name;    ///< kept after the key is deleted
    std::optional<std::string> key_prefix;  ///< kept after the key is deleted
    util::millis received_at = 0;
    events::event event;
};

/// @brief Last-used time and address of a key, written in coalesced batches.
struct last_used_update {
    std::string key_id;
    util::millis at = 0;
    std::string ip;
};

/// @brief Hourly usage counts of a key, added to what storage holds (so nodes add up).
struct usage_delta {
    std::string key_id;
    std::int64_t hour = 0;  ///< hours since the Unix epoch
    std::int64_t accepted = 0;
    std::int64_t duplicate = 0;
    std::int64_t rejected = 0;
    std::int64_t auth_failed = 0;
};

/// @brief An inbound request refused after its key was identified.
struct rejection_record {
    std::int64_t id = 0;  ///< assigned by the store
    util::millis at = 0;
    std::string domain;
    std::string key_id;
    std::string key_prefix;
    int status = 0;
    std::string code;
    std::optional<std::string> details;  ///< JSON text: [{"field","problem"}], never values
    std::string request_id;
    std::string client_ip;
};

/// @brief A page of a listing, newest first; `next` is the cursor for the following page.
template <typename Record>
struct page {
    std::vector<Record> items;
    std::optional<std::int64_t> next;
};

}  // namespace cc::storage
