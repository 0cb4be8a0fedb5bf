// The SQLite store's key controls (SPEC §7): allowed IPs, exposure, hourly usage and
// the rejection log. Kept apart from sqlite_storage.cpp so each file stays one concern.
#include <sqlite3.h>

#include <set>

#include "cc/storage/listing_page.hpp"
#include "cc/storage/record_readers.hpp"
#include "cc/storage/sqlite/listing_filter.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::storage::sqlite {

void sqlite_storage::set_allowed_ips(admin_transaction&, std::string_view key_id, const std::vector<std::string>& ips) {
    // The caller's admin transaction holds admin_.mutex and is open on admin_.db: this
    // statement runs inside it, so the change commits (or rolls back) with the rest.
    statement_scope s(admin_.db->prepared("UPDATE api_keys SET allowed_ips = ? WHERE id = ?"));
    s->bind(1, join_allowed_ips(ips)).bind(2, key_id);
    s->run();
    admin_.db->exec("UPDATE registry_version SET version = version + 1 WHERE id = 1");
}

bool sqlite_storage::mark_exposed(std::string_view key_id, util::millis at, std::string_view origin,
                                  const audit_record& audit) {
    auto tx = begin_admin();  // holds admin_.mutex and opens an immediate transaction on admin_.db
    auto& db = *admin_.db;
    {
        statement_scope s(db.prepared(
            "UPDATE api_keys SET exposed_at = ?, exposed_origin = ? WHERE id = ? AND exposed_at IS NULL"));
        s->bind(1, at).bind(2, origin).bind(3, key_id);
        s->run();
    }
    // Only the first sighting anywhere is recorded, so the audit gets one entry per exposure.
    if (db.changes() != 1) return false;
    tx->append_audit(audit);
    db.exec("UPDATE registry_version SET version = version + 1 WHERE id = 1");
    tx->commit();
    return true;
}

void sqlite_storage::save_usage(std::span<const usage_delta> deltas) {
    if (deltas.empty()) return;
    write_admin([&](database& db) {
        auto& upsert = db.prepared(
            "INSERT INTO key_usage_hourly (key_id, hour, accepted, duplicate, rejected, auth_failed) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT (key_id, hour) DO UPDATE SET "
            "accepted = accepted + excluded.accepted, duplicate = duplicate + excluded.duplicate, "
            "rejected = rejected + excluded.rejected, auth_failed = auth_failed + excluded.auth_failed");
        for (const auto& d : deltas) {
            statement_scope s(upsert);
            s->bind(1, std::string_view(d.key_id))
                .bind(2, d.hour)
                .bind(3, d.accepted)
                .bind(4, d.duplicate)
                .bind(5, d.rejected)
                .bind(6, d.auth_failed);
            s->run();
        }
    });
}

std::vector<usage_delta> sqlite_storage::load_usage(std::string_view key_id, std::int64_t from_hour,
                                                    std::int64_t to_hour) {
    std::lock_guard lock(reader_.mutex);
    statement_scope s(reader_.db->prepared(
        "SELECT hour, accepted, duplicate, rejected, auth_failed FROM key_usage_hourly "
        "WHERE key_id = ? AND hour >= ? AND hour <= ? ORDER BY hour"));
    s->bind(1, key_id).bind(2, from_hour).bind(3, to_hour);
    std::vector<usage_delta> out;
    while (s->step()) out.push_back(read_usage(statement_row(*s), key_id));
    return out;
}

void sqlite_storage::insert_rejections(std::span<const rejection_record> rows, int per_domain_cap) {
    if (rows.empty()) return;
    write_admin([&](database& db) {
        auto& insert = db.prepared(
            "INSERT INTO rejections (at, domain, key_id, key_prefix, status, code, details, request_id, client_ip) "
            "VALUES (?,?,?,?,?,?,?,?,?)");
        std::set<std::string> domains;
        for (const auto& r : rows) {
            statement_scope s(insert);
            s->bind(1, r.at)
                .bind(2, std::string_view(r.domain))
                .bind(3, std::string_view(r.key_id))
                .bind(4, std::string_view(r.key_prefix))
                .bind(5, std::int64_t{r.status})
                .bind(6, std::string_view(r.code))
                .bind(7, r.details)
                .bind(8, std::string_view(r.request_id))
                .bind(9, std::string_view(r.client_ip));
            s->run();
            domains.insert(r.domain);
        }
        // Keep the newest `per_domain_cap` of each domain written to: everything at or below
        // the id just past the cap goes.
        auto& trim = db.prepared(
            "DELETE FROM rejections WHERE domain = ? AND id <= "
            "(SELECT id FROM rejections WHERE domain = ? ORDER BY id DESC LIMIT 1 OFFSET ?)");
        for (const auto& d : domains) {
            statement_scope s(trim);
            s->bind(1, std::string_view(d)).bind(2, std::string_view(d)).bind(3, std::int64_t{per_domain_cap});
            s->run();
        }
    });
}

page<rejection_record> sqlite_storage::list_rejections(const listing_query& query,
                                                       const std::optional<std::string>& request_id) {
    listing_filter filter;
    filter.equals("domain", query.domain).compare("id", "<", query.before).equals("request_id", request_id);
    std::lock_guard lock(reader_.mutex);
    statement_scope s(reader_.db->prepared(std::string("SELECT ") + std::string(rejection_columns) + " FROM rejections" +
                                           filter.where() + " ORDER BY id DESC LIMIT ?"));
    const int limit = page_size(query.limit);
    s->bind(filter.bind(*s), std::int64_t{limit} + 1);
    return collect_page(limit, &rejection_record::id, [&] { return s->step(); },
                        [&] { return read_rejection(statement_row(*s)); });
}

void sqlite_storage::purge_controls(std::int64_t before_hour, util::millis rejections_before) {
    std::lock_guard lock(admin_.mutex);
    auto& db = *admin_.db;
    {
        statement_scope s(db.prepared("DELETE FROM key_usage_hourly WHERE hour < ?"));
        s->bind(1, before_hour);
        s->run();
    }
    statement_scope s(db.prepared("DELETE FROM rejections WHERE at < ?"));
    s->bind(1, rejections_before);
    s->run();
}

}  // namespace cc::storage::sqlite
