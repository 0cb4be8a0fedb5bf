#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "cc/storage/migrations.hpp"
#include "cc/storage/postgres/connection.hpp"
#include "cc/storage/store.hpp"

namespace cc::storage::postgres {

/// @brief The migrations/postgres/*.sql files compiled into this binary, in order.
const std::vector<migration>& embedded_postgres_migrations();

/// @brief Applies the missing PostgreSQL migrations under an advisory lock, so nodes
/// starting together apply each once; records each with a checksum; refuses a database
/// that holds a migration this binary does not know or whose applied file has changed.
migration_report apply_postgres_migrations(connection& conn, const std::vector<migration>& known);

/// @brief The notification channel every domain or key change signals in its own transaction.
inline constexpr const char* registry_channel = "cc_registry";

/// @brief Inside the open transaction on `db`: bumps the registry version and NOTIFYs
/// registry_channel, so every node reloads its key index once the transaction commits.
void signal_registry_change(connection& db);

/// @brief The PostgreSQL store, for several nodes on one database: one connection per
/// role (event commits, admin changes, listings), each re-established after a loss.
/// Plan limits hold across nodes because a write transaction locks the domain row
/// (and the key row) it reads; every registry change NOTIFYs registry_channel.
class postgres_storage final : public store {
public:
    /// @brief Connects and migrates; throws pg_error naming host and database (never the
    /// password) when it cannot.
    explicit postgres_storage(const std::string& conninfo);

    const migration_report& migrations() const noexcept { return migrations_; }
    /// @brief host, port, database and user, for logs.
    const std::string& target() const noexcept { return target_; }

    std::unique_ptr<admin_transaction> begin_admin(bool write = true) override;
    std::vector<domain_record> load_domains() override;
    std::vector<key_record> load_keys() override;
    std::int64_t registry_version() override;
    std::vector<insert_outcome> insert_events(std::span<const event_insert> events) override;
    page<event_record> list_events(const listing_query& query) override;
    page<audit_record> list_audit(const listing_query& query) override;
    std::int64_t purge_events(util::millis before, int limit) override;
    void save_last_used(std::span<const last_used_update> updates) override;
    // Key controls (SPEC §7), in postgres_controls.cpp.
    void set_allowed_ips(admin_transaction& tx, std::string_view key_id, const std::vector<std::string>& ips) override;
    bool mark_exposed(std::string_view key_id, util::millis at, std::string_view origin, const audit_record& audit) override;
    void save_usage(std::span<const usage_delta> deltas) override;
    std::vector<usage_delta> load_usage(std::string_view key_id, std::int64_t from_hour, std::int64_t to_hour) override;
    void insert_rejections(std::span<const rejection_record> rows, int per_domain_cap) override;
    page<rejection_record> list_rejections(const listing_query& query, const std::optional<std::string>& request_id) override;
    void purge_controls(std::int64_t before_hour, util::millis rejections_before) override;
    void check() override;
    void checkpoint() override;
    /// @brief Refuses: a PostgreSQL deployment is backed up with pg_dump or base backups.
    void backup(const std::string& path) override;

private:
    struct slot {
        std::mutex mutex;
        std::unique_ptr<connection> db;
    };

    std::string target_;
    migration_report migrations_;
    slot writer_;  ///< event inserts (group commit)
    slot admin_;   ///< admin transactions, last-used writes, purges
    slot reader_;  ///< listings, loads, readiness
};

}  // namespace cc::storage::postgres
