#include "cc/storage/postgres/postgres_storage.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "cc/storage/listing_page.hpp"
#include "cc/storage/record_readers.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/crypto.hpp"

namespace cc::storage::postgres {
namespace {

constexpr std::string_view key_columns =
    "id, domain, name, prefix, encode(key_hash, 'hex'), status, created_at, last_used_at, last_used_ip, "
    "revoked_at, expires_at, rolled_to, allowed_ips, exposed_at, exposed_origin";

/// @brief The advisory lock that serializes migration runs of every node on a database.
constexpr std::string_view migration_lock_sql = "SELECT pg_advisory_lock(7406031913)";
constexpr std::string_view migration_unlock_sql = "SELECT pg_advisory_unlock(7406031913)";

std::string to_hex(const std::string& raw) {
    return util::to_hex(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

/// @brief Every row of `r`, read with `read` (one of the shared record readers).
template <typename Read>
auto read_all(const result& r, Read read) {
    std::vector<decltype(read(result_row(r, 0)))> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read(result_row(r, i)));
    return out;
}

std::vector<domain_record> read_domains(const result& r) { return read_all(r, read_domain<result_row>); }
std::vector<key_record> read_keys(const result& r) { return read_all(r, read_key<result_row>); }

class postgres_admin_transaction final : public admin_transaction {
public:
    postgres_admin_transaction(std::unique_lock<std::mutex> lock, connection& db, bool write)
        : lock_(std::move(lock)), db_(db),
          // A read-only transaction sees one snapshot, so a reload of the index is consistent.
          tx_(db, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), write_(write) {}

    std::optional<domain_record> find_domain(std::string_view domain) override {
        // A writer locks the domain row: concurrent creates and restores of this domain,
        // on any node, wait here, and then count the keys the first one committed.
        const auto r = db_.run(write_ ? "SELECT domain, plan, created_at FROM domains WHERE domain = $1 FOR UPDATE"
                                      : "SELECT domain, plan, created_at FROM domains WHERE domain = $1",
                               {p(domain)});
        if (r.rows() == 0) return std::nullopt;
        return read_domain(result_row(r, 0));
    }

    std::vector<domain_record> list_domains() override {
        return read_domains(db_.run("SELECT domain, plan, created_at FROM domains ORDER BY domain"));
    }

    std::vector<domain_record> list_domains_after(std::string_view after, int limit) override {
        return read_domains(db_.run("SELECT domain, plan, created_at FROM domains WHERE domain > $1 ORDER BY domain LIMIT $2",
                                    {p(after), p(std::int64_t{std::max(limit, 0)})}));
    }

    void upsert_domain(const domain_record& d) override {
        db_.run("INSERT INTO domains (domain, plan, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (domain) DO UPDATE SET plan = excluded.plan",
                {p(d.domain), p(d.plan), p(d.created_at)});
        registry_changed_ = true;
    }

    void delete_domain(std::string_view domain) override {
        db_.run("DELETE FROM domains WHERE domain = $1", {p(domain)});
        registry_changed_ = true;
    }

    std::int64_t count_keys(std::string_view domain) override {
        return db_.run("SELECT count(*) FROM api_keys WHERE domain = $1", {p(domain)}).int64(0, 0);
    }

    std::int64_t count_active_keys(std::string_view domain, util::millis now) override {
        return db_
            .run("SELECT count(*) FROM api_keys WHERE domain = $1 AND status = 'active' "
                 "AND (expires_at IS NULL OR expires_at > $2)",
                 {p(domain), p(now)})
            .int64(0, 0);
    }

    std::optional<key_record> find_key(std::string_view id) override {
        const auto r = db_.run(write_ ? std::string("SELECT ") + std::string(key_columns) +
                                            " FROM api_keys WHERE id = $1 FOR UPDATE"
                                      : std::string("SELECT ") + std::string(key_columns) + " FROM api_keys WHERE id = $1",
                               {p(id)});
        if (r.rows() == 0) return std::nullopt;
        return read_key(result_row(r, 0));
    }

    std::vector<key_record> list_keys(std::string_view domain) override {
        return read_keys(db_.run(std::string("SELECT ") + std::string(key_columns) +
                                     " FROM api_keys WHERE domain = $1 ORDER BY created_at DESC, seq DESC",
                                 {p(domain)}));
    }

    std::int64_t count_all_keys() override { return db_.run("SELECT count(*) FROM api_keys").int64(0, 0); }

    void for_each_key(const std::function<void(const key_record&)>& visit) override {
        const auto r = db_.run(std::string("SELECT ") + std::string(key_columns) + " FROM api_keys");
        for (int i = 0; i < r.rows(); ++i) visit(read_key(result_row(r, i)));
    }

    void insert_key(const key_record& k) override {
        db_.run("INSERT INTO api_keys (id, domain, name, prefix, key_hash, status, created_at, "
                "last_used_at, last_used_ip, revoked_at, expires_at, rolled_to) "
                "VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7, $8, $9, $10, $11, $12)",
                {p(k.id), p(k.domain), p(k.name), p(k.prefix), p(to_hex(k.hash)), p(k.status), p(k.created_at),
                 p(k.last_used_at), p(k.last_used_ip), p(k.revoked_at), p(k.expires_at), p(k.rolled_to)});
        registry_changed_ = true;
    }

    void update_key(const key_record& k) override {
        db_.run("UPDATE api_keys SET name = $1, status = $2, revoked_at = $3, expires_at = $4, rolled_to = $5 "
                "WHERE id = $6",
                {p(k.name), p(k.status), p(k.revoked_at), p(k.expires_at), p(k.rolled_to), p(k.id)});
        registry_changed_ = true;
    }

    void delete_key(std::string_view id) override {
        // Event listings keep naming the key after it is gone (never its hash).
        db_.run("INSERT INTO deleted_keys (id, domain, name, prefix, deleted_at) "
                "SELECT id, domain, name, prefix, (extract(epoch FROM clock_timestamp()) * 1000)::bigint "
                "FROM api_keys WHERE id = $1 "
                "ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, name = excluded.name, "
                "prefix = excluded.prefix, deleted_at = excluded.deleted_at",
                {p(id)});
        db_.run("DELETE FROM api_keys WHERE id = $1", {p(id)});
        registry_changed_ = true;
    }

    void append_audit(const audit_record& e) override {
        db_.run("INSERT INTO audit_log (at, actor, client_ip, action, domain, key_id, details) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                {p(e.at), p(e.actor), p(e.client_ip), p(e.action), p(e.domain), p(e.key_id), p(e.details)});
    }

    std::int64_t registry_version() override {
        const auto r = db_.run("SELECT version FROM registry_version WHERE id = 1");
        return r.rows() ? r.int64(0, 0) : 0;
    }

    void commit() override {
        if (registry_changed_) signal_registry_change(db_);
        tx_.commit();
    }

private:
    std::unique_lock<std::mutex> lock_;  // declared first: released after the transaction ends
    connection& db_;
    transaction tx_;
    bool write_;
    bool registry_changed_ = false;
};

/// @brief A newest-first listing; fetches one row more than asked to know if a next page exists.
template <typename Record, typename Reader>
page<Record> run_listing(connection& db, std::string_view sql, const listing_query& q, Reader read,
                         std::int64_t Record::*cursor, std::vector<param> extra = {}) {
    const int size = page_size(q.limit);
    std::vector<param> params{p(q.domain), p(q.before), p(std::int64_t{size} + 1)};
    params.insert(params.end(), extra.begin(), extra.end());
    const auto r = db.run(sql, params);
    int i = -1;
    return collect_page(size, cursor, [&] { return ++i < r.rows(); }, [&] { return read(result_row(r, i)); });
}

}  // namespace

void signal_registry_change(connection& db) {
    db.run("UPDATE registry_version SET version = version + 1 WHERE id = 1");
    // Delivered to every listening node when, and only if, this transaction commits.
    db.run("SELECT pg_notify($1, '')", {p(registry_channel)});
}

migration_report apply_postgres_migrations(connection& db, const std::vector<migration>& known) {
    // Session-level lock: a second node starting now waits here, then finds each migration applied.
    db.run(migration_lock_sql);
    struct unlock_guard {
        connection& db;
        ~unlock_guard() {
            try {
                db.run(migration_unlock_sql);
            } catch (...) {  // a lost session releases the lock by itself
            }
        }
    } unlock{db};

    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " checksum text NOT NULL, applied_at bigint NOT NULL)");
    std::map<int, std::string> applied;
    {
        const auto r = db.run("SELECT version, checksum FROM schema_migrations ORDER BY version");
        for (int i = 0; i < r.rows(); ++i) applied.emplace(static_cast<int>(r.int64(i, 0)), r.text(i, 1));
    }
    const auto plan = plan_migrations(applied, known);
    if (plan.refusal) throw pg_error(*plan.refusal, "", false);
    migration_report report{{}, plan.current};
    util::system_clock clock;
    for (const auto* m : plan.missing) {
        transaction tx(db);
        db.exec(m->sql);
        db.run("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
               {p(std::int64_t{m->version}), p(m->name), p(migration_checksum(*m)), p(clock.now_ms())});
        tx.commit();
        report.applied.push_back(m->version);
    }
    return report;
}

postgres_storage::postgres_storage(const std::string& conninfo) {
    target_ = describe_target(conninfo);
    writer_.db = std::make_unique<connection>(conninfo);
    migrations_ = apply_postgres_migrations(*writer_.db, embedded_postgres_migrations());
    admin_.db = std::make_unique<connection>(conninfo);
    reader_.db = std::make_unique<connection>(conninfo);
}

std::unique_ptr<admin_transaction> postgres_storage::begin_admin(bool write) {
    // Read-only transactions (index reloads among them) share the admin connection's
    // lock on purpose: a reload can then never overwrite a change this node has just
    // committed and put into its index.
    std::unique_lock lock(admin_.mutex);
    return std::make_unique<postgres_admin_transaction>(std::move(lock), *admin_.db, write);
}

std::vector<domain_record> postgres_storage::load_domains() {
    std::lock_guard lock(reader_.mutex);
    return read_domains(reader_.db->run("SELECT domain, plan, created_at FROM domains ORDER BY domain"));
}

std::vector<key_record> postgres_storage::load_keys() {
    std::lock_guard lock(reader_.mutex);
    return read_keys(
        reader_.db->run(std::string("SELECT ") + std::string(key_columns) + " FROM api_keys ORDER BY created_at, seq"));
}

std::int64_t postgres_storage::registry_version() {
    std::lock_guard lock(reader_.mutex);
    const auto r = reader_.db->run("SELECT version FROM registry_version WHERE id = 1");
    return r.rows() ? r.int64(0, 0) : 0;
}

std::vector<insert_outcome> postgres_storage::insert_events(std::span<const event_insert> events) {
    if (events.empty()) return {};
    // Insert in (domain, event_id) order: two nodes' batches then take the unique index's
    // locks in the same order and cannot deadlock. A stable sort keeps the first of
    // repeated ids first, and that one is the row stored.
    std::vector<std::size_t> order(events.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = events[a];
        const auto& y = events[b];
        if (x.domain != y.domain) return x.domain < y.domain;
        return *x.event->event_id < *y.event->event_id;
    });
    array_builder arrays(16);
    for (const auto i : order) {
        const auto& item = events[i];
        const auto& e = *item.event;
        arrays.add(0, item.domain);
        arrays.add(1, e.event_id);
        arrays.add(2, item.key_id);
        arrays.add(3, e.name);
        arrays.add(4, e.email);
        arrays.add(5, e.email_sha256);
        arrays.add(6, e.phone);
        arrays.add(7, e.phone_sha256);
        arrays.add(8, e.external_id);
        arrays.add(9, e.click_id);
        arrays.add(10, e.value);
        arrays.add(11, e.currency);
        arrays.add(12, std::to_string(e.occurred_at));
        arrays.add(13, std::to_string(item.received_at));
        arrays.add(14, e.properties);
        arrays.add(15, e.raw);
    }
    const auto params = arrays.finish();

    std::lock_guard lock(writer_.mutex);
    auto& db = *writer_.db;
    const auto inserted = with_retry([&] {
        transaction tx(db);
        // One statement and one commit for the whole group; RETURNING names the rows
        // stored, so duplicates are known without a second query.
        auto r = db.run(
            "INSERT INTO events (domain, event_id, key_id, name, email, email_sha256, phone, phone_sha256, "
            "external_id, click_id, value, currency, occurred_at, received_at, properties, raw) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
            "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], "
            "$14::bigint[], $15::text[], $16::text[]) "
            "ON CONFLICT (domain, event_id) DO NOTHING RETURNING domain, event_id",
            params);
        tx.commit();
        std::multiset<std::pair<std::string, std::string>> rows;
        for (int i = 0; i < r.rows(); ++i) rows.emplace(r.text(i, 0), r.text(i, 1));
        return rows;
    });
    std::multiset<std::pair<std::string, std::string>> remaining = inserted;
    std::vector<insert_outcome> outcomes;
    outcomes.reserve(events.size());
    for (const auto& item : events) {
        const auto it = remaining.find({item.domain, *item.event->event_id});
        if (it != remaining.end()) {
            remaining.erase(it);
            outcomes.push_back(insert_outcome::inserted);
        } else {
            outcomes.push_back(insert_outcome::duplicate);
        }
    }
    return outcomes;
}

page<event_record> postgres_storage::list_events(const listing_query& query) {
    std::lock_guard lock(reader_.mutex);
    return run_listing<event_record>(
        *reader_.db,
        std::string("SELECT ") + std::string(event_columns) +
            " FROM events e LEFT JOIN api_keys k ON k.id = e.key_id LEFT JOIN deleted_keys d ON d.id = e.key_id"
            " WHERE ($1::text IS NULL OR e.domain = $1) AND ($2::bigint IS NULL OR e.seq < $2)"
            " AND ($4::text IS NULL OR e.key_id = $4) AND ($5::text IS NULL OR e.name = $5)"
            " AND ($6::text IS NULL OR e.event_id = $6) AND ($7::bigint IS NULL OR e.received_at >= $7)"
            " AND ($8::bigint IS NULL OR e.received_at < $8)"
            " ORDER BY e.seq DESC LIMIT $3",
        query, read_event<result_row>, &event_record::seq,
        {p(query.key_id), p(query.event_name), p(query.event_id), p(query.since), p(query.until)});
}

page<audit_record> postgres_storage::list_audit(const listing_query& query) {
    std::lock_guard lock(reader_.mutex);
    return run_listing<audit_record>(
        *reader_.db,
        std::string("SELECT ") + std::string(audit_columns) +
            " FROM audit_log WHERE ($1::text IS NULL OR domain = $1) AND ($2::bigint IS NULL OR id < $2)"
            " ORDER BY id DESC LIMIT $3",
        query, read_audit<result_row>, &audit_record::id);
}

std::int64_t postgres_storage::purge_events(util::millis before, int limit) {
    std::lock_guard lock(admin_.mutex);
    return admin_.db
        ->run("DELETE FROM events WHERE seq IN "
              "(SELECT seq FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
              {p(before), p(std::int64_t{limit})})
        .affected();
}

void postgres_storage::save_last_used(std::span<const last_used_update> updates) {
    if (updates.empty()) return;
    std::vector<const last_used_update*> sorted;
    for (const auto& u : updates) sorted.push_back(&u);
    // Key-id order: two nodes flushing the same keys lock their rows in the same order.
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->key_id < b->key_id; });
    array_builder arrays(3);
    for (const auto* u : sorted) {
        arrays.add(0, u->key_id);
        arrays.add(1, std::to_string(u->at));
        arrays.add(2, u->ip);
    }
    const auto params = arrays.finish();
    std::lock_guard lock(admin_.mutex);
    // Every node writes its own latest use; GREATEST keeps the latest of all of them.
    with_retry([&] {
        admin_.db->run(
            "UPDATE api_keys AS k SET last_used_at = GREATEST(COALESCE(k.last_used_at, 0), u.at), "
            "last_used_ip = CASE WHEN u.at >= COALESCE(k.last_used_at, 0) THEN u.ip ELSE k.last_used_ip END "
            "FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, at, ip) WHERE k.id = u.id",
            params);
        return 0;
    });
}

void postgres_storage::check() {
    std::lock_guard lock(reader_.mutex);
    if (reader_.db->run("SELECT version FROM registry_version WHERE id = 1").rows() != 1) {
        throw pg_error("registry_version row is missing", "", false);
    }
}

void postgres_storage::checkpoint() {
    // PostgreSQL checkpoints by itself.
}

void postgres_storage::backup(const std::string&) {
    throw pg_error(
        "cc-inbound backup copies SQLite databases only; this deployment stores in PostgreSQL (" + target_ +
            "): back it up with PostgreSQL's own tools, pg_dump for a logical copy or pg_basebackup with WAL "
            "archiving for point-in-time recovery (see docs/SCALING.md)",
        "", false);
}

}  // namespace cc::storage::postgres
