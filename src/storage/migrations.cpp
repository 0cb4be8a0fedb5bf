#include "cc/storage/migrations.hpp"

#include <sqlite3.h>

#include <map>

#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/crypto.hpp"

namespace cc::storage {

std::string migration_checksum(const migration& m) { return util::sha256_hex(m.sql); }

migration_plan plan_migrations(const std::map<int, std::string>& applied, const std::vector<migration>& known) {
    std::map<int, const migration*> by_version;
    for (const auto& m : known) by_version.emplace(m.version, &m);

    migration_plan plan;
    for (const auto& [version, checksum] : applied) {
        const auto it = by_version.find(version);
        if (it == by_version.end()) {
            plan.refusal = "the database has migration " + std::to_string(version) +
                           ", which this binary does not know: it was written by a newer "
                           "cc-inbound; run that version or restore a backup";
            return plan;
        }
        if (migration_checksum(*it->second) != checksum) {
            plan.refusal = "migration " + it->second->name + " differs from the one applied to this database";
            return plan;
        }
    }
    for (const auto& [version, m] : by_version) {
        if (!applied.contains(version)) plan.missing.push_back(m);
    }
    plan.current = by_version.empty() ? 0 : by_version.rbegin()->first;
    return plan;
}

migration_report apply_migrations(sqlite::database& db, const std::vector<migration>& known) {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)");

    std::map<int, std::string> applied;  // version -> checksum
    {
        auto& select = db.prepared("SELECT version, checksum FROM schema_migrations ORDER BY version");
        sqlite::statement_scope scope(select);
        while (select.step()) {
            applied.emplace(static_cast<int>(select.column_int64(0)), select.column_text(1));
        }
    }

    const auto plan = plan_migrations(applied, known);
    if (plan.refusal) throw storage_error(*plan.refusal, SQLITE_MISMATCH);

    migration_report report{{}, plan.current};
    util::system_clock clock;
    for (const auto* m : plan.missing) {
        sqlite::transaction tx(db);
        db.exec(m->sql);
        auto& insert = db.prepared(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
        sqlite::statement_scope scope(insert);
        insert.bind(1, std::int64_t{m->version})
            .bind(2, std::string_view(m->name))
            .bind(3, std::string_view(migration_checksum(*m)))
            .bind(4, clock.now_ms());
        insert.run();
        tx.commit();
        report.applied.push_back(m->version);
    }
    return report;
}

}  // namespace cc::storage
