#pragma once
#include <string>
#include <vector>

namespace cc::storage {

namespace sqlite {
class database;
}

/// @brief One numbered schema change, from migrations/NNNN_name.sql.
struct migration {
    int version;
    std::string name;
    std::string sql;
};

/// @brief The migrations compiled into this binary, in order.
const std::vector<migration>& embedded_migrations();

/// @brief What a migration run did.
struct migration_report {
    std::vector<int> applied;  ///< versions applied by this run
    int current = 0;           ///< the schema version afterwards
};

/// @brief Applies the missing migrations in order, each in its own transaction, and
/// records each with a checksum. Refuses (storage_error) a database that holds a
/// migration this binary does not know or whose applied file has changed.
migration_report apply_migrations(sqlite::database& db, const std::vector<migration>& known);

}  // namespace cc::storage
