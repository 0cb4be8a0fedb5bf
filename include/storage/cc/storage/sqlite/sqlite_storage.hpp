#pragma once
#include <functional>
#include <memory>
#include <mutex>

#include "cc/storage/migrations.hpp"
#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/sqlite/wal_checkpointer.hpp"
#include "cc/storage/sqlite/wal_sync.hpp"
#include "cc/storage/store.hpp"

namespace cc::storage::sqlite {

/// @brief The SQLite store: WAL mode, one connection per role so that event commits,
/// admin changes and listings do not queue behind each other in this process.
class sqlite_storage final : public store {
public:
    /// @brief Opens (creating if needed) and migrates the database at `options.path`.
    explicit sqlite_storage(const connection_options& options);
    ~sqlite_storage() override;
    sqlite_storage(const sqlite_storage&) = delete;
    sqlite_storage& operator=(const sqlite_storage&) = delete;

    /// @brief What the start-up migration run did.
    const migration_report& migrations() const noexcept { return migrations_; }

    std::unique_ptr<admin_transaction> begin_admin(bool write = true) override;
    std::vector<domain_record> load_domains() override;
    std::vector<key_record> load_keys() override;
    std::int64_t registry_version() override;
    std::vector<insert_outcome> insert_events(std::span<const event_insert> events) override;
    bool defers_event_sync() const override { return event_sync_ != nullptr; }
    void sync_events() override;
    page<event_record> list_events(const listing_query& query) override;
    page<audit_record> list_audit(const listing_query& query) override;
    std::int64_t purge_events(util::millis before, int limit) override;
    void save_last_used(std::span<const last_used_update> updates) override;
    void set_allowed_ips(admin_transaction& tx, std::string_view key_id, const std::vector<std::string>& ips) override;
    bool mark_exposed(std::string_view key_id, util::millis at, std::string_view origin, const audit_record& audit) override;
    void save_usage(std::span<const usage_delta> deltas) override;
    std::vector<usage_delta> load_usage(std::string_view key_id, std::int64_t from_hour, std::int64_t to_hour) override;
    void insert_rejections(std::span<const rejection_record> rows, int per_domain_cap) override;
    page<rejection_record> list_rejections(const listing_query& query, const std::optional<std::string>& request_id) override;
    void purge_controls(std::int64_t before_hour, util::millis rejections_before) override;
    void check() override;
    void backup(const std::string& path) override;
    /// @brief Asks the checkpoint thread for a round (it also wakes by itself when the log grows).
    void checkpoint() override;

private:
    /// @brief A connection and the lock that serializes its use.
    struct connection {
        std::mutex mutex;
        std::unique_ptr<database> db;
    };

    /// @brief Runs `work` on the admin connection, under its lock, in one immediate
    /// transaction committed when `work` returns (rolled back when it throws).
    void write_admin(const std::function<void(database&)>& work);

    migration_report migrations_;
    connection writer_;  ///< event inserts (group commit)
    connection admin_;   ///< admin transactions, last-used writes, purges
    connection reader_;  ///< listings and loads; WAL lets it read while others write
    connection probe_;   ///< readiness checks only, so a long listing never delays them
    std::unique_ptr<wal_checkpointer> checkpointer_;  ///< its own connection and thread
    std::unique_ptr<wal_sync> event_sync_;            ///< set when event commits defer their sync
};

}  // namespace cc::storage::sqlite
