#include "cc/app/store_factory.hpp"

#include "cc/storage/postgres/postgres_storage.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"

namespace cc::app {

storage::sqlite::connection_options sqlite_options(const config::settings& s) {
    return {s.database, s.busy_timeout_ms, s.sqlite_synchronous, false};
}

opened_store open_store(const config::settings& s) {
    opened_store out;
    if (!s.database_url.empty()) {
        auto pg = std::make_unique<storage::postgres::postgres_storage>(s.database_url);
        out.migrations = pg->migrations();
        out.description = pg->target();
        out.backend = "postgres";
        out.store = std::move(pg);
        return out;
    }
    auto lite = std::make_unique<storage::sqlite::sqlite_storage>(sqlite_options(s));
    out.migrations = lite->migrations();
    out.description = s.database;
    out.backend = "sqlite";
    out.store = std::move(lite);
    return out;
}

}  // namespace cc::app
