#pragma once
#include <string>
#include <string_view>

#include "cc/storage/allowed_ips_text.hpp"
#include "cc/storage/records.hpp"

// How a stored row becomes a record, written once for both backends. `Row` is the
// backend's view of the current row (sqlite::statement_row, postgres::result_row),
// read by column: text, int64, optional_text, optional_int64 and blob.
namespace cc::storage {

/// @brief The columns read_event reads, in its order: events `e` joined with the live key `k`
/// and the deleted key `d`, so the key's name and prefix outlive the key.
inline constexpr std::string_view event_columns =
    "e.seq, e.domain, e.event_id, e.key_id, coalesce(k.name, d.name), e.name, e.email, e.email_sha256, e.phone, "
    "e.phone_sha256, e.external_id, e.click_id, e.value, e.currency, e.occurred_at, "
    "e.received_at, e.properties, e.raw, coalesce(k.prefix, d.prefix)";

/// @brief The columns read_audit reads, in its order.
inline constexpr std::string_view audit_columns = "id, at, actor, client_ip, action, domain, key_id, details";

/// @brief The columns read_rejection reads, in its order.
inline constexpr std::string_view rejection_columns =
    "id, at, domain, key_id, key_prefix, status, code, details, request_id, client_ip";

/// @brief A row of `domain, plan, created_at`.
template <typename Row>
domain_record read_domain(const Row& row) {
    return domain_record{row.text(0), row.text(1), row.int64(2)};
}

/// @brief A row of the backend's key columns: id, domain, name, prefix, the hash, status,
/// created_at, last_used_at, last_used_ip, revoked_at, expires_at, rolled_to, allowed_ips,
/// exposed_at, exposed_origin.
template <typename Row>
key_record read_key(const Row& row) {
    key_record key;
    key.id = row.text(0);
    key.domain = row.text(1);
    key.name = row.text(2);
    key.prefix = row.text(3);
    key.hash = row.blob(4);
    key.status = row.text(5);
    key.created_at = row.int64(6);
    key.last_used_at = row.optional_int64(7);
    key.last_used_ip = row.optional_text(8);
    key.revoked_at = row.optional_int64(9);
    key.expires_at = row.optional_int64(10);
    key.rolled_to = row.optional_text(11);
    key.allowed_ips = split_allowed_ips(row.optional_text(12));
    key.exposed_at = row.optional_int64(13);
    key.exposed_origin = row.optional_text(14);
    return key;
}

/// @brief A row of event_columns.
template <typename Row>
event_record read_event(const Row& row) {
    event_record r;
    r.seq = row.int64(0);
    r.domain = row.text(1);
    r.event.event_id = row.text(2);
    r.key_id = row.text(3);
    r.key_name = row.optional_text(4);
    r.event.name = row.text(5);
    r.event.email = row.optional_text(6);
    r.event.email_sha256 = row.optional_text(7);
    r.event.phone = row.optional_text(8);
    r.event.phone_sha256 = row.optional_text(9);
    r.event.external_id = row.optional_text(10);
    r.event.click_id = row.optional_text(11);
    r.event.value = row.optional_text(12);
    r.event.currency = row.optional_text(13);
    r.event.occurred_at = row.int64(14);
    r.received_at = row.int64(15);
    r.event.properties = row.optional_text(16);
    r.event.raw = row.text(17);
    r.key_prefix = row.optional_text(18);
    return r;
}

/// @brief A row of audit_columns.
template <typename Row>
audit_record read_audit(const Row& row) {
    return audit_record{.id = row.int64(0),
                        .at = row.int64(1),
                        .actor = row.text(2),
                        .client_ip = row.optional_text(3),
                        .action = row.text(4),
                        .domain = row.optional_text(5),
                        .key_id = row.optional_text(6),
                        .details = row.optional_text(7)};
}

/// @brief A row of rejection_columns.
template <typename Row>
rejection_record read_rejection(const Row& row) {
    return rejection_record{.id = row.int64(0),
                            .at = row.int64(1),
                            .domain = row.text(2),
                            .key_id = row.text(3),
                            .key_prefix = row.text(4),
                            .status = static_cast<int>(row.int64(5)),
                            .code = row.text(6),
                            .details = row.optional_text(7),
                            .request_id = row.text(8),
                            .client_ip = row.optional_text(9).value_or("")};
}

/// @brief A row of `hour, accepted, duplicate, rejected, auth_failed` of the key `key_id`.
template <typename Row>
usage_delta read_usage(const Row& row, std::string_view key_id) {
    return usage_delta{std::string(key_id), row.int64(0), row.int64(1), row.int64(2), row.int64(3), row.int64(4)};
}

}  // namespace cc::storage
