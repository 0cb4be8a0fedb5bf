// The PostgreSQL store's key controls (SPEC §7): allowed IPs, exposure, hourly usage and
// the rejection log, shared by every node on the database. Kept apart from
// postgres_storage.cpp so each file stays one concern (as in the SQLite store).
#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <set>

#include "cc/storage/listing_page.hpp"
#include "cc/storage/postgres/postgres_storage.hpp"
#include "cc/storage/record_readers.hpp"

namespace cc::storage::postgres {
namespace {

/// @brief The first key of the two-key advisory locks that serialize rejection writes per
/// domain; the second is the domain's hashtext. (The migration lock uses the one-key form,
/// a separate key space.)
constexpr std::int64_t rejection_lock_class = 7406;

/// @brief The caller's admin transaction must be open on `db` (it holds the admin slot's
/// lock), so a statement run here commits or rolls back with the rest of the change.
void require_transaction(const connection& db, const char* what) {
    if (!db.in_transaction()) {
        throw pg_error(std::string("postgres: ") + what + " runs only inside an admin transaction of this store", "",
                       false);
    }
}

}  // namespace

void postgres_storage::set_allowed_ips(admin_transaction&, std::string_view key_id,
                                       const std::vector<std::string>& ips) {
    auto& db = *admin_.db;
    require_transaction(db, "set_allowed_ips");
    db.run("UPDATE api_keys SET allowed_ips = $1 WHERE id = $2", {join_allowed_ips(ips), p(key_id)});
    // Other nodes enforce the new list once they reload, within a second of the commit.
    signal_registry_change(db);
}

bool postgres_storage::mark_exposed(std::string_view key_id, util::millis at, std::string_view origin,
                                    const audit_record& audit) {
    return with_retry([&] {
        auto tx = begin_admin();  // holds admin_.mutex and opens a transaction on admin_.db
        auto& db = *admin_.db;
        // Two nodes seeing the key in a browser at once: the second UPDATE waits for the
        // first's row lock, then finds exposed_at set and changes nothing. So only the
        // first sighting anywhere is recorded, with one audit entry.
        const auto marked = db.run("UPDATE api_keys SET exposed_at = $1, exposed_origin = $2 "
                                   "WHERE id = $3 AND exposed_at IS NULL",
                                   {p(at), p(origin), p(key_id)})
                                .affected();
        if (marked != 1) return false;  // the transaction rolls back: nothing was written
        tx->append_audit(audit);
        signal_registry_change(db);
        tx->commit();
        return true;
    });
}

void postgres_storage::save_usage(std::span<const usage_delta> deltas) {
    if (deltas.empty()) return;
    // One row per (key, hour): an upsert may not touch a row twice in one statement. The
    // map's order is also the lock order, so two nodes flushing the same keys cannot deadlock.
    std::map<std::pair<std::string, std::int64_t>, std::array<std::int64_t, 4>> merged;
    for (const auto& d : deltas) {
        auto& counts = merged[{d.key_id, d.hour}];
        counts[0] += d.accepted;
        counts[1] += d.duplicate;
        counts[2] += d.rejected;
        counts[3] += d.auth_failed;
    }
    array_builder arrays(6);
    for (const auto& [at, counts] : merged) {
        arrays.add(0, at.first);
        arrays.add(1, std::to_string(at.second));
        for (std::size_t i = 0; i < counts.size(); ++i) arrays.add(2 + i, std::to_string(counts[i]));
    }
    const auto params = arrays.finish();
    std::lock_guard lock(admin_.mutex);
    auto& db = *admin_.db;
    // Counts are added to what is stored, never overwritten: every node's flush adds up.
    // Inside a transaction, since adding is not idempotent: a session lost during the
    // statement then surely stored nothing (the caller keeps the counts for the next
    // flush) instead of being run again on a fresh session; only a loss during COMMIT
    // itself leaves the outcome unknown.
    with_retry([&] {
        transaction tx(db);
        db.run(
            "INSERT INTO key_usage_hourly AS u (key_id, hour, accepted, duplicate, rejected, auth_failed) "
            "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) "
            "ON CONFLICT (key_id, hour) DO UPDATE SET accepted = u.accepted + excluded.accepted, "
            "duplicate = u.duplicate + excluded.duplicate, rejected = u.rejected + excluded.rejected, "
            "auth_failed = u.auth_failed + excluded.auth_failed",
            params);
        tx.commit();
        return 0;
    });
}

std::vector<usage_delta> postgres_storage::load_usage(std::string_view key_id, std::int64_t from_hour,
                                                      std::int64_t to_hour) {
    std::lock_guard lock(reader_.mutex);
    const auto r = reader_.db->run(
        "SELECT hour, accepted, duplicate, rejected, auth_failed FROM key_usage_hourly "
        "WHERE key_id = $1 AND hour >= $2 AND hour <= $3 ORDER BY hour",
        {p(key_id), p(from_hour), p(to_hour)});
    std::vector<usage_delta> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_usage(result_row(r, i), key_id));
    return out;
}

void postgres_storage::insert_rejections(std::span<const rejection_record> rows, int per_domain_cap) {
    if (rows.empty()) return;
    array_builder arrays(9);
    std::set<std::string> domains;  // sorted: the order the per-domain locks are taken in
    for (const auto& r : rows) {
        arrays.add(0, std::to_string(r.at));
        arrays.add(1, r.domain);
        arrays.add(2, r.key_id);
        arrays.add(3, r.key_prefix);
        arrays.add(4, std::to_string(r.status));
        arrays.add(5, r.code);
        arrays.add(6, r.details);
        arrays.add(7, r.request_id);
        arrays.add(8, r.client_ip);
        domains.insert(r.domain);
    }
    const auto params = arrays.finish();
    array_builder domain_array(1);
    for (const auto& d : domains) domain_array.add(0, d);
    const auto domain_param = domain_array.finish().front();

    std::lock_guard lock(admin_.mutex);
    auto& db = *admin_.db;
    with_retry([&] {
        transaction tx(db);
        // Nodes writing the same domain take turns, so the trim below sees every other
        // node's committed rows and the cap holds across nodes.
        db.run("SELECT pg_advisory_xact_lock($1::integer, hashtext(d)) FROM unnest($2::text[]) AS d",
               {p(rejection_lock_class), domain_param});
        // Rows come oldest first; ids are assigned in array order, so the newest get the highest.
        db.run("INSERT INTO rejections (at, domain, key_id, key_prefix, status, code, details, request_id, client_ip) "
               "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], "
               "$7::text[], $8::text[], $9::text[])",
               params);
        // Keep the newest `per_domain_cap` of each domain written to: everything at or
        // below the id just past the cap goes.
        db.run("DELETE FROM rejections r USING ("
               " SELECT d.domain, (SELECT x.id FROM rejections x WHERE x.domain = d.domain"
               " ORDER BY x.id DESC LIMIT 1 OFFSET $2) AS cutoff FROM unnest($1::text[]) AS d(domain)) c"
               " WHERE r.domain = c.domain AND r.id <= c.cutoff",
               {domain_param, p(std::int64_t{std::max(per_domain_cap, 0)})});
        tx.commit();
        return 0;
    });
}

page<rejection_record> postgres_storage::list_rejections(const listing_query& query,
                                                         const std::optional<std::string>& request_id) {
    const int limit = page_size(query.limit);
    // The cursor is always bound (no cursor: past every id), so it stays an index condition.
    const auto before = p(query.before.value_or(std::numeric_limits<std::int64_t>::max()));
    const auto fetch = p(std::int64_t{limit} + 1);
    // One statement per filter shape, each served by its own index whatever plan is cached.
    std::string sql = std::string("SELECT ") + std::string(rejection_columns) + " FROM rejections";
    std::vector<param> params;
    if (request_id) {
        sql += " WHERE request_id = $1 AND ($2::text IS NULL OR domain = $2) AND id < $3 ORDER BY id DESC LIMIT $4";
        params = {p(*request_id), p(query.domain), before, fetch};
    } else if (query.domain) {
        sql += " WHERE domain = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
        params = {p(*query.domain), before, fetch};
    } else {
        sql += " WHERE id < $1 ORDER BY id DESC LIMIT $2";
        params = {before, fetch};
    }
    std::lock_guard lock(reader_.mutex);
    const auto r = reader_.db->run(sql, params);
    int i = -1;
    return collect_page(limit, &rejection_record::id, [&] { return ++i < r.rows(); },
                        [&] { return read_rejection(result_row(r, i)); });
}

void postgres_storage::purge_controls(std::int64_t before_hour, util::millis rejections_before) {
    std::lock_guard lock(admin_.mutex);
    auto& db = *admin_.db;
    // Every node purges; a second purge of the same rows finds them gone.
    with_retry([&] { return db.run("DELETE FROM key_usage_hourly WHERE hour < $1", {p(before_hour)}).affected(); });
    with_retry([&] { return db.run("DELETE FROM rejections WHERE at < $1", {p(rejections_before)}).affected(); });
}

}  // namespace cc::storage::postgres
