#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cc/storage/records.hpp"

namespace cc::storage {

/// @brief A read-write transaction over domains, keys and the audit log. Every admin
/// change runs in one, so checks (such as the plan limit) and writes are atomic even
/// against another process. Rolls back on destruction unless committed.
class admin_transaction {
public:
    virtual ~admin_transaction() = default;

    virtual std::optional<domain_record> find_domain(std::string_view domain) = 0;
    virtual std::vector<domain_record> list_domains() = 0;
    /// @brief Up to `limit` domains whose names sort after `after` (all when empty), in name order.
    virtual std::vector<domain_record> list_domains_after(std::string_view after, int limit) = 0;
    virtual void upsert_domain(const domain_record& domain) = 0;
    virtual void delete_domain(std::string_view domain) = 0;

    virtual std::int64_t count_keys(std::string_view domain) = 0;
    /// @brief Keys that are active and not expired at `now`: what the plan limit counts.
    virtual std::int64_t count_active_keys(std::string_view domain, util::millis now) = 0;
    virtual std::optional<key_record> find_key(std::string_view id) = 0;
    /// @brief The domain's keys, newest first.
    virtual std::vector<key_record> list_keys(std::string_view domain) = 0;
    /// @brief Calls `visit` with every key of every domain, one row at a time, so that
    /// reloading a million keys never holds them all as records at once.
    virtual void for_each_key(const std::function<void(const key_record&)>& visit) = 0;
    /// @brief How many keys there are, of every domain (sizes an index before a reload).
    virtual std::int64_t count_all_keys() = 0;
    virtual void insert_key(const key_record& key) = 0;
    /// @brief Writes name, status, revoked_at, expires_at and rolled_to.
    virtual void update_key(const key_record& key) = 0;
    /// @brief Deletes the key for good, keeping its id, domain, name and prefix (never its
    /// hash) so that event listings still name the key that sent each event.
    virtual void delete_key(std::string_view id) = 0;

    virtual void append_audit(const audit_record& entry) = 0;
    /// @brief See store::registry_version.
    virtual std::int64_t registry_version() = 0;

    /// @brief Makes the changes durable; throws storage_error when it cannot.
    virtual void commit() = 0;
};

/// @brief Outcome of storing one event.
enum class insert_outcome { inserted, duplicate };

/// @brief Filter and cursor of an audit or event listing.
struct listing_query {
    std::optional<std::string> domain;
    std::optional<std::int64_t> before;  ///< exclusive cursor
    int limit = 50;
    // Event listings only (list_audit ignores them); each one narrows the result.
    std::optional<std::string> key_id;
    std::optional<std::string> event_name;   ///< the event's `event` field, exactly
    std::optional<std::string> event_id;
    std::optional<util::millis> since;       ///< received at or after
    std::optional<util::millis> until;       ///< received before
};

/// @brief Everything the service stores. One implementation per backend (SQLite now);
/// it knows nothing of HTTP or JSON. Thread-safe. Throws storage_error.
class store {
public:
    virtual ~store() = default;

    /// @brief Starts an admin transaction; a read-only one takes no write lock.
    virtual std::unique_ptr<admin_transaction> begin_admin(bool write = true) = 0;

    virtual std::vector<domain_record> load_domains() = 0;
    virtual std::vector<key_record> load_keys() = 0;
    /// @brief Changes whenever domains or keys change, in this process or another.
    virtual std::int64_t registry_version() = 0;

    /// @brief Stores a group of events in one transaction (group commit); returns one
    /// outcome per event, in order. All or nothing: on error nothing is stored.
    virtual std::vector<insert_outcome> insert_events(std::span<const event_insert> events) = 0;
    /// @brief True when insert_events returns before its commit is durable: the caller
    /// then acknowledges nothing until a later sync_events() has returned.
    virtual bool defers_event_sync() const { return false; }
    /// @brief Makes every insert_events that has returned durable (one sync for many
    /// commits). A no-op where each commit is durable already.
    virtual void sync_events() {}
    virtual page<event_record> list_events(const listing_query& query) = 0;
    virtual page<audit_record> list_audit(const listing_query& query) = 0;
    /// @brief Deletes up to `limit` events received before `before`; returns how many.
    virtual std::int64_t purge_events(util::millis before, int limit) = 0;

    virtual void save_last_used(std::span<const last_used_update> updates) = 0;

    // Key controls (SPEC §7). Defaults refuse, so a backend without them fails loudly.
    /// @brief Replaces a key's allowed IPs inside an admin change.
    virtual void set_allowed_ips(admin_transaction& tx, std::string_view key_id, const std::vector<std::string>& ips);
    /// @brief Marks a key exposed unless it already is; true when this call marked it
    /// (and then appended `audit` in the same transaction).
    virtual bool mark_exposed(std::string_view key_id, util::millis at, std::string_view origin,
                              const audit_record& audit);
    /// @brief Adds hourly counts to what is stored.
    virtual void save_usage(std::span<const usage_delta> deltas);
    /// @brief A key's stored hourly counts for hours in [from_hour, to_hour].
    virtual std::vector<usage_delta> load_usage(std::string_view key_id, std::int64_t from_hour, std::int64_t to_hour);
    /// @brief Stores refused requests, then keeps at most `per_domain_cap` per domain.
    virtual void insert_rejections(std::span<const rejection_record> rows, int per_domain_cap);
    /// @brief Refused requests of a domain (or with a request id), newest first.
    virtual page<rejection_record> list_rejections(const listing_query& query, const std::optional<std::string>& request_id);
    /// @brief Deletes usage hours before `before_hour` and rejections before `rejections_before`.
    virtual void purge_controls(std::int64_t before_hour, util::millis rejections_before);

    /// @brief Throws when storage cannot serve (readiness).
    virtual void check() = 0;

    /// @brief Moves committed writes from the log into the main database file (SQLite:
    /// a passive WAL checkpoint). Called in the background so commits never do it.
    virtual void checkpoint() = 0;

    /// @brief Writes a consistent copy of everything to `path` while serving goes on.
    virtual void backup(const std::string& path) = 0;
};

}  // namespace cc::storage
