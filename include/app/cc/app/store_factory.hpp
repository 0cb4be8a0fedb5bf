#pragma once
#include <memory>
#include <string>

#include "cc/config/config.hpp"
#include "cc/storage/migrations.hpp"
#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/store.hpp"

namespace cc::app {

/// @brief The configured store, opened and migrated.
struct opened_store {
    std::unique_ptr<storage::store> store;
    storage::migration_report migrations;
    std::string backend;      ///< "sqlite" or "postgres"
    std::string description;  ///< the SQLite path, or PostgreSQL's host/port/db/user (never a password)
};

/// @brief The SQLite connection options the configuration asks for (path, busy timeout,
/// synchronous mode), for every SQLite store the binary opens.
storage::sqlite::connection_options sqlite_options(const config::settings& settings);

/// @brief PostgreSQL when `database_url` is set, else SQLite at `database`. Throws
/// storage_error when the database cannot be opened or migrated.
opened_store open_store(const config::settings& settings);

}  // namespace cc::app
