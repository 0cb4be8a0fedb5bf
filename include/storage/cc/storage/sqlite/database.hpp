#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cc/storage/sqlite/statement.hpp"

struct sqlite3;

namespace cc::storage::sqlite {

/// @brief How a connection is opened.
struct connection_options {
    std::string path;
    int busy_timeout_ms = 5000;
    std::string synchronous = "full";  ///< SQLite's synchronous level: off, normal, full, extra
    bool read_only = false;
};

/// @brief One SQLite connection in WAL mode. Not thread-safe: its owner serializes use.
class database {
public:
    explicit database(const connection_options& options);

    /// @brief Runs SQL with no parameters and no rows (schema, pragmas, BEGIN/COMMIT).
    void exec(std::string_view sql);

    /// @brief A prepared statement for `sql`, prepared on first use and reused after.
    statement& prepared(std::string_view sql);

    std::int64_t changes() const noexcept;
    std::int64_t last_insert_rowid() const noexcept;
    sqlite3* handle() const noexcept { return db_.get(); }

private:
    struct closer {
        void operator()(sqlite3* db) const noexcept;
    };
    std::unique_ptr<sqlite3, closer> db_;
    std::map<std::string, std::unique_ptr<statement>, std::less<>> statements_;
};

/// @brief A transaction that rolls back in its destructor unless committed.
class transaction {
public:
    enum class mode { deferred, immediate };
    explicit transaction(database& db, mode m = mode::immediate);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    void commit();

private:
    database& db_;
    bool done_ = false;
};

/// @brief Throws storage_error for a failed SQLite call.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int code, std::string_view what);

}  // namespace cc::storage::sqlite
