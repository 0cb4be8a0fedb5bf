#pragma once
#include <map>
#include <optional>
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

/// @brief What a database needs, worked out the same way for every backend.
struct migration_plan {
    /// @brief Why the database is refused: it holds a migration this binary does not
    /// know, or one whose file has changed since it was applied.
    std::optional<std::string> refusal;
    std::vector<const migration*> missing;  ///< to apply, in version order
    int current = 0;                        ///< the schema version once they are applied
};

/// @brief The plan for a database whose recorded migrations are `applied` (version ->
/// checksum) against the `known` ones of this binary.
migration_plan plan_migrations(const std::map<int, std::string>& applied, const std::vector<migration>& known);

/// @brief The checksum recorded with an applied migration.
std::string migration_checksum(const migration& m);

/// @brief Applies the missing migrations in order, each in its own transaction, and
/// records each with a checksum. Refuses (storage_error) a database that holds a
/// migration this binary does not know or whose applied file has changed.
migration_report apply_migrations(sqlite::database& db, const std::vector<migration>& known);

}  // namespace cc::storage
