#include "cc/storage/sqlite/sqlite_storage.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "cc/storage/listing_page.hpp"
#include "cc/storage/record_readers.hpp"
#include "cc/storage/sqlite/listing_filter.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::storage::sqlite {
namespace {

constexpr std::int64_t wal_size_limit_bytes = 64 * 1024 * 1024;

constexpr std::string_view key_columns =
    "id, domain, name, prefix, key_hash, status, created_at, last_used_at, last_used_ip, "
    "revoked_at, expires_at, rolled_to, allowed_ips, exposed_at, exposed_origin";

/// @brief Every row `s` yields, read with `read` (one of the shared record readers).
template <typename Read>
auto read_all(statement& s, Read read) {
    std::vector<decltype(read(statement_row(s)))> out;
    while (s.step()) out.push_back(read(statement_row(s)));
    return out;
}

/// @brief The admin transaction: holds the admin connection's lock for its lifetime.
class sqlite_admin_transaction final : public admin_transaction {
public:
    sqlite_admin_transaction(std::unique_lock<std::mutex> lock, database& db, bool write)
        : lock_(std::move(lock)), db_(db),
          tx_(db, write ? transaction::mode::immediate : transaction::mode::deferred) {}

    std::vector<domain_record> list_domains() override {
        statement_scope s(db_.prepared("SELECT domain, plan, created_at FROM domains ORDER BY domain"));
        return read_all(*s, read_domain<statement_row>);
    }

    std::vector<key_record> list_keys(std::string_view domain) override {
        statement_scope s(db_.prepared(std::string("SELECT ") + std::string(key_columns) +
                                       " FROM api_keys WHERE domain = ? ORDER BY created_at DESC, rowid DESC"));
        s->bind(1, domain);
        return read_all(*s, read_key<statement_row>);
    }

    std::int64_t count_all_keys() override {
        statement_scope s(db_.prepared("SELECT count(*) FROM api_keys"));
        return s->step() ? s->column_int64(0) : 0;
    }

    void for_each_key(const std::function<void(const key_record&)>& visit) override {
        statement_scope s(db_.prepared(std::string("SELECT ") + std::string(key_columns) + " FROM api_keys"));
        while (s->step()) visit(read_key(statement_row(*s)));
    }

    std::vector<domain_record> list_domains_after(std::string_view after, int limit) override {
        statement_scope s(db_.prepared(
            "SELECT domain, plan, created_at FROM domains WHERE domain > ? ORDER BY domain LIMIT ?"));
        s->bind(1, after).bind(2, std::int64_t{std::max(limit, 0)});
        return read_all(*s, read_domain<statement_row>);
    }

    std::optional<domain_record> find_domain(std::string_view domain) override {
        statement_scope s(db_.prepared("SELECT domain, plan, created_at FROM domains WHERE domain = ?"));
        s->bind(1, domain);
        if (!s->step()) return std::nullopt;
        return read_domain(statement_row(*s));
    }

    void upsert_domain(const domain_record& d) override {
        statement_scope s(db_.prepared(
            "INSERT INTO domains (domain, plan, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (domain) DO UPDATE SET plan = excluded.plan"));
        s->bind(1, std::string_view(d.domain)).bind(2, std::string_view(d.plan)).bind(3, d.created_at);
        s->run();
        registry_changed_ = true;
    }

    void delete_domain(std::string_view domain) override {
        statement_scope s(db_.prepared("DELETE FROM domains WHERE domain = ?"));
        s->bind(1, domain);
        s->run();
        registry_changed_ = true;
    }

    std::int64_t count_keys(std::string_view domain) override {
        statement_scope s(db_.prepared("SELECT COUNT(*) FROM api_keys WHERE domain = ?"));
        s->bind(1, domain);
        s->step();
        return s->column_int64(0);
    }

    std::int64_t count_active_keys(std::string_view domain, util::millis now) override {
        statement_scope s(db_.prepared(
            "SELECT COUNT(*) FROM api_keys WHERE domain = ? AND status = 'active' "
            "AND (expires_at IS NULL OR expires_at > ?)"));
        s->bind(1, domain).bind(2, now);
        s->step();
        return s->column_int64(0);
    }

    std::optional<key_record> find_key(std::string_view id) override {
        statement_scope s(db_.prepared(std::string("SELECT ") + std::string(key_columns) +
                                       " FROM api_keys WHERE id = ?"));
        s->bind(1, id);
        if (!s->step()) return std::nullopt;
        return read_key(statement_row(*s));
    }

    void insert_key(const key_record& k) override {
        statement_scope s(db_.prepared(
            "INSERT INTO api_keys (id, domain, name, prefix, key_hash, status, created_at, "
            "last_used_at, last_used_ip, revoked_at, expires_at, rolled_to) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
        s->bind(1, std::string_view(k.id))
            .bind(2, std::string_view(k.domain))
            .bind(3, std::string_view(k.name))
            .bind(4, std::string_view(k.prefix))
            .bind_blob(5, k.hash.data(), k.hash.size())
            .bind(6, std::string_view(k.status))
            .bind(7, k.created_at)
            .bind(8, k.last_used_at)
            .bind(9, k.last_used_ip)
            .bind(10, k.revoked_at)
            .bind(11, k.expires_at)
            .bind(12, k.rolled_to);
        s->run();
        registry_changed_ = true;
    }

    void update_key(const key_record& k) override {
        statement_scope s(db_.prepared(
            "UPDATE api_keys SET name = ?, status = ?, revoked_at = ?, expires_at = ?, rolled_to = ? "
            "WHERE id = ?"));
        s->bind(1, std::string_view(k.name))
            .bind(2, std::string_view(k.status))
            .bind(3, k.revoked_at)
            .bind(4, k.expires_at)
            .bind(5, k.rolled_to)
            .bind(6, std::string_view(k.id));
        s->run();
        registry_changed_ = true;
    }

    void delete_key(std::string_view id) override {
        {
            // Event listings keep naming the key after it is gone.
            statement_scope keep(db_.prepared(
                "INSERT OR REPLACE INTO deleted_keys (id, domain, name, prefix, deleted_at) "
                "SELECT id, domain, name, prefix, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) "
                "FROM api_keys WHERE id = ?"));
            keep->bind(1, id);
            keep->run();
        }
        statement_scope s(db_.prepared("DELETE FROM api_keys WHERE id = ?"));
        s->bind(1, id);
        s->run();
        registry_changed_ = true;
    }

    void append_audit(const audit_record& e) override {
        statement_scope s(db_.prepared(
            "INSERT INTO audit_log (at, actor, client_ip, action, domain, key_id, details) "
            "VALUES (?,?,?,?,?,?,?)"));
        s->bind(1, e.at)
            .bind(2, std::string_view(e.actor))
            .bind(3, e.client_ip)
            .bind(4, std::string_view(e.action))
            .bind(5, e.domain)
            .bind(6, e.key_id)
            .bind(7, e.details);
        s->run();
    }

    std::int64_t registry_version() override {
        statement_scope s(db_.prepared("SELECT version FROM registry_version WHERE id = 1"));
        return s->step() ? s->column_int64(0) : 0;
    }

    void commit() override {
        if (registry_changed_) {
            db_.exec("UPDATE registry_version SET version = version + 1 WHERE id = 1");
        }
        tx_.commit();
    }

private:
    std::unique_lock<std::mutex> lock_;  // declared first: released after the transaction ends
    database& db_;
    transaction tx_;
    bool registry_changed_ = false;
};

/// @brief Runs a newest-first listing (`sql` ends in "LIMIT ?", after the filter's values);
/// fetches one row more than asked to know if a next page exists.
template <typename Record, typename Reader>
page<Record> run_listing(database& db, const std::string& sql, const listing_filter& filter, const listing_query& q,
                         Reader read, std::int64_t Record::*cursor) {
    const int size = page_size(q.limit);
    statement_scope s(db.prepared(sql));
    s->bind(filter.bind(*s), std::int64_t{size} + 1);
    return collect_page(size, cursor, [&] { return s->step(); }, [&] { return read(statement_row(*s)); });
}

}  // namespace

sqlite_storage::sqlite_storage(const connection_options& options) {
    writer_.db = std::make_unique<database>(options);
    migrations_ = apply_migrations(*writer_.db, embedded_migrations());
    // Checkpoints run on their own thread (wal_checkpointer), never inside an event commit.
    writer_.db->exec("PRAGMA wal_autocheckpoint = 0");
    // When the log restarts, its file is cut back to this size: a burst that outran the
    // checkpoints does not keep its disk space, and a log of this size is reused in place
    // (overwriting allocated blocks is a cheaper fsync than growing the file).
    writer_.db->exec("PRAGMA journal_size_limit = " + std::to_string(wal_size_limit_bytes));
    // The event writer inserts into six indexes of a growing table: a page cache of
    // 16 MiB (SQLite's default is 2 MiB) keeps their upper levels in memory instead of
    // reading them back from the file on every commit.
    writer_.db->exec("PRAGMA cache_size = -16384");
    // Full durability without the writer waiting for the disk: its commits skip the
    // fsync, and event_writer acknowledges a group only after a sync_events() that
    // follows it (wal_sync). Every other connection keeps the configured level.
    if (options.synchronous == "full" || options.synchronous == "extra") {
        writer_.db->exec("PRAGMA synchronous = NORMAL");
        event_sync_ = std::make_unique<wal_sync>(
            sqlite3_filename_wal(sqlite3_db_filename(writer_.db->handle(), "main")));
    }
    admin_.db = std::make_unique<database>(options);
    reader_.db = std::make_unique<database>(options);
    probe_.db = std::make_unique<database>(options);
    checkpointer_ = std::make_unique<wal_checkpointer>(options, [this] { return std::unique_lock(writer_.mutex); });
    checkpointer_->watch(*writer_.db);
}

sqlite_storage::~sqlite_storage() {
    // The hook points at the checkpointer: remove it before the checkpointer goes.
    sqlite3_wal_hook(writer_.db->handle(), nullptr, nullptr);
    checkpointer_.reset();
}

std::unique_ptr<admin_transaction> sqlite_storage::begin_admin(bool write) {
    std::unique_lock lock(admin_.mutex);
    return std::make_unique<sqlite_admin_transaction>(std::move(lock), *admin_.db, write);
}

std::vector<domain_record> sqlite_storage::load_domains() {
    std::lock_guard lock(reader_.mutex);
    statement_scope s(reader_.db->prepared("SELECT domain, plan, created_at FROM domains ORDER BY domain"));
    return read_all(*s, read_domain<statement_row>);
}

std::vector<key_record> sqlite_storage::load_keys() {
    std::lock_guard lock(reader_.mutex);
    statement_scope s(reader_.db->prepared(std::string("SELECT ") + std::string(key_columns) +
                                           " FROM api_keys ORDER BY created_at, id"));
    return read_all(*s, read_key<statement_row>);
}

std::int64_t sqlite_storage::registry_version() {
    std::lock_guard lock(reader_.mutex);
    statement_scope s(reader_.db->prepared("SELECT version FROM registry_version WHERE id = 1"));
    return s->step() ? s->column_int64(0) : 0;
}

std::vector<insert_outcome> sqlite_storage::insert_events(std::span<const event_insert> events) {
    std::lock_guard lock(writer_.mutex);
    auto& db = *writer_.db;
    std::vector<insert_outcome> outcomes;
    outcomes.reserve(events.size());
    transaction tx(db, transaction::mode::immediate);
    auto& insert = db.prepared(
        "INSERT INTO events (domain, event_id, key_id, name, email, email_sha256, phone, "
        "phone_sha256, external_id, click_id, value, currency, occurred_at, received_at, "
        "properties, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (domain, event_id) DO NOTHING");
    for (const auto& item : events) {
        const auto& e = *item.event;
        // The row's text stays in `events` until the scope resets the statement: bound in place.
        statement_scope s(insert);
        s->bind_borrowed(1, std::string_view(item.domain))
            .bind_borrowed(2, e.event_id)
            .bind_borrowed(3, std::string_view(item.key_id))
            .bind_borrowed(4, std::string_view(e.name))
            .bind_borrowed(5, e.email)
            .bind_borrowed(6, e.email_sha256)
            .bind_borrowed(7, e.phone)
            .bind_borrowed(8, e.phone_sha256)
            .bind_borrowed(9, e.external_id)
            .bind_borrowed(10, e.click_id)
            .bind_borrowed(11, e.value)
            .bind_borrowed(12, e.currency)
            .bind(13, e.occurred_at)
            .bind(14, item.received_at)
            .bind_borrowed(15, e.properties)
            .bind_borrowed(16, std::string_view(e.raw));
        s->run();
        outcomes.push_back(db.changes() == 1 ? insert_outcome::inserted : insert_outcome::duplicate);
    }
    tx.commit();
    return outcomes;
}

void sqlite_storage::sync_events() {
    if (event_sync_) event_sync_->sync();
}

page<event_record> sqlite_storage::list_events(const listing_query& query) {
    listing_filter filter;
    // With the domain (and the cursor), events_by_domain serves the page newest first; an
    // event_id takes the unique (domain, event_id) index; the other filters are checked
    // on the rows of that walk.
    filter.equals("e.domain", query.domain)
        .compare("e.seq", "<", query.before)
        .equals("e.key_id", query.key_id)
        .equals("e.name", query.event_name)
        .equals("e.event_id", query.event_id)
        .compare("e.received_at", ">=", query.since)
        .compare("e.received_at", "<", query.until);
    std::lock_guard lock(reader_.mutex);
    return run_listing<event_record>(
        *reader_.db,
        std::string("SELECT ") + std::string(event_columns) +
            " FROM events e LEFT JOIN api_keys k ON k.id = e.key_id LEFT JOIN deleted_keys d ON d.id = e.key_id" +
            filter.where() + " ORDER BY e.seq DESC LIMIT ?",
        filter, query, read_event<statement_row>, &event_record::seq);
}

page<audit_record> sqlite_storage::list_audit(const listing_query& query) {
    listing_filter filter;
    filter.equals("domain", query.domain).compare("id", "<", query.before);
    std::lock_guard lock(reader_.mutex);
    return run_listing<audit_record>(
        *reader_.db,
        std::string("SELECT ") + std::string(audit_columns) + " FROM audit_log" + filter.where() +
            " ORDER BY id DESC LIMIT ?",
        filter, query, read_audit<statement_row>, &audit_record::id);
}

std::int64_t sqlite_storage::purge_events(util::millis before, int limit) {
    std::lock_guard lock(admin_.mutex);
    statement_scope s(admin_.db->prepared(
        "DELETE FROM events WHERE seq IN "
        "(SELECT seq FROM events WHERE received_at < ? ORDER BY received_at LIMIT ?)"));
    s->bind(1, before).bind(2, std::int64_t{limit});
    s->run();
    return admin_.db->changes();
}

void sqlite_storage::save_last_used(std::span<const last_used_update> updates) {
    if (updates.empty()) return;
    write_admin([&](database& db) {
        auto& update = db.prepared(
            "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?), last_used_ip = ? "
            "WHERE id = ?");
        for (const auto& u : updates) {
            statement_scope s(update);
            s->bind(1, u.at).bind(2, std::string_view(u.ip)).bind(3, std::string_view(u.key_id));
            s->run();
        }
    });
}

void sqlite_storage::write_admin(const std::function<void(database&)>& work) {
    std::lock_guard lock(admin_.mutex);
    transaction tx(*admin_.db, transaction::mode::immediate);
    work(*admin_.db);
    tx.commit();
}

void sqlite_storage::check() {
    std::lock_guard lock(probe_.mutex);
    statement_scope s(probe_.db->prepared("SELECT version FROM registry_version WHERE id = 1"));
    if (!s->step()) {
        throw storage_error("registry_version row is missing", SQLITE_CORRUPT);
    }
}

void sqlite_storage::checkpoint() {
    checkpointer_->request();
}

void sqlite_storage::backup(const std::string& path) {
    // SQLite's online backup copies a consistent snapshot; in WAL mode writers go on meanwhile.
    database target({path, 5000, "full", false});
    std::lock_guard lock(reader_.mutex);
    sqlite3_backup* raw = sqlite3_backup_init(target.handle(), "main", reader_.db->handle(), "main");
    if (!raw) throw_sqlite_error(target.handle(), sqlite3_errcode(target.handle()), "backup");
    const std::unique_ptr<sqlite3_backup, int (*)(sqlite3_backup*)> guard(raw, sqlite3_backup_finish);
    const int rc = sqlite3_backup_step(raw, -1);
    if (rc != SQLITE_DONE) throw_sqlite_error(target.handle(), rc, "backup");
}

}  // namespace cc::storage::sqlite
