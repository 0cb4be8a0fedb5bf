#include "cc/storage/migrations.hpp"

#include <sqlite3.h>

#include <map>

#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/crypto.hpp"

namespace cc::storage {

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

    std::map<int, const migration*> by_version;
    for (const auto& m : known) by_version.emplace(m.version, &m);

    for (const auto& [version, checksum] : applied) {
        const auto it = by_version.find(version);
        if (it == by_version.end()) {
            throw storage_error("the database has migration " + std::to_string(version) +
                                    ", which this binary does not know: it was written by a newer "
                                    "cc-inbound; run that version or restore a backup",
                                SQLITE_MISMATCH);
        }
        if (util::sha256_hex(it->second->sql) != checksum) {
            throw storage_error("migration " + it->second->name +
                                    " differs from the one applied to this database",
                                SQLITE_MISMATCH);
        }
    }

    migration_report report;
    util::system_clock clock;
    for (const auto& [version, m] : by_version) {
        if (applied.contains(version)) continue;
        sqlite::transaction tx(db);
        db.exec(m->sql);
        auto& insert = db.prepared(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
        sqlite::statement_scope scope(insert);
        insert.bind(1, std::int64_t{version})
            .bind(2, std::string_view(m->name))
            .bind(3, std::string_view(util::sha256_hex(m->sql)))
            .bind(4, clock.now_ms());
        insert.run();
        tx.commit();
        report.applied.push_back(version);
    }
    report.current = by_version.empty() ? 0 : by_version.rbegin()->first;
    return report;
}

}  // namespace cc::storage
