#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cc/storage/storage_error.hpp"

struct pg_conn;
struct pg_result;

namespace cc::storage::postgres {

/// @brief A PostgreSQL failure: the storage_error every caller already handles, plus the
/// SQLSTATE. Messages carry libpq's primary text only (never DETAIL, which can quote row
/// values) and never the connection password.
class pg_error : public storage_error {
public:
    /// @brief code(): 1 for a statement error, 2 when the connection is lost or refused.
    pg_error(const std::string& what, std::string sqlstate, bool connection_lost)
        : storage_error(what, connection_lost ? 2 : 1), sqlstate_(std::move(sqlstate)) {}

    const std::string& sqlstate() const noexcept { return sqlstate_; }
    bool connection_lost() const noexcept { return code() == 2; }

private:
    std::string sqlstate_;
};

/// @brief One statement parameter in text form; nullopt is SQL NULL.
using param = std::optional<std::string>;

param p(std::string_view text);
param p(const std::string& text);
param p(const char* text);
param p(std::int64_t value);
param p(const std::optional<std::string>& text);
param p(const std::optional<std::int64_t>& value);

/// @brief A result set; rows and columns in text form. Owns its PGresult.
class result {
public:
    explicit result(pg_result* res) noexcept : res_(res) {}

    int rows() const noexcept;
    bool is_null(int row, int column) const noexcept;
    std::string text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    std::optional<std::string> optional_text(int row, int column) const;
    std::optional<std::int64_t> optional_int64(int row, int column) const;
    /// @brief Rows changed by an INSERT, UPDATE or DELETE.
    std::int64_t affected() const;

private:
    struct clearer {
        void operator()(pg_result* res) const noexcept;
    };
    std::unique_ptr<pg_result, clearer> res_;
};

/// @brief One row of a result, as the shared record readers read it.
class result_row {
public:
    result_row(const result& res, int row) : res_(res), row_(row) {}
    std::string text(int column) const { return res_.text(row_, column); }
    std::int64_t int64(int column) const { return res_.int64(row_, column); }
    std::optional<std::string> optional_text(int column) const { return res_.optional_text(row_, column); }
    std::optional<std::int64_t> optional_int64(int column) const { return res_.optional_int64(row_, column); }
    /// @brief A bytea column selected as encode(column, 'hex'), as raw bytes.
    std::string blob(int column) const;

private:
    const result& res_;
    int row_;
};

/// @brief Where a connection string points, for messages: host, port, database and
/// user, never the password. Throws pg_error when the string does not parse.
std::string describe_target(const std::string& conninfo);

/// @brief One libpq connection. Statements are prepared on first use and reused; the
/// connection is re-established on the next use after it was lost. Not thread-safe:
/// its owner serializes use.
class connection {
public:
    /// @brief Connects now; throws pg_error naming host and database when it cannot.
    explicit connection(std::string conninfo);

    /// @brief Runs SQL without parameters (BEGIN, COMMIT, LISTEN, a migration file).
    void exec(std::string_view sql);
    /// @brief Runs `sql` as a prepared statement with bound parameters.
    result run(std::string_view sql, const std::vector<param>& params = {});

    /// @brief Reconnects if the connection was lost; throws pg_error when it cannot.
    void ensure();
    bool in_transaction() const noexcept;
    pg_conn* handle() const noexcept { return conn_.get(); }
    const std::string& target() const noexcept { return target_; }

    /// @brief Throws the pg_error for `res` (or for the connection when `res` is null).
    [[noreturn]] void fail(pg_result* res, std::string_view what);

private:
    struct finisher {
        void operator()(pg_conn* conn) const noexcept;
    };
    void connect();
    void exec_once(std::string_view sql);
    result run_once(std::string_view sql, const std::vector<param>& params);

    std::string conninfo_;
    std::string target_;
    std::string password_;  ///< only to scrub it from libpq's messages
    std::unique_ptr<pg_conn, finisher> conn_;
    std::map<std::string, std::string, std::less<>> statements_;  // sql -> prepared name
};

/// @brief Builds one PostgreSQL array literal per column, for multi-row statements over
/// `unnest($1::text[], ...)`. Elements are quoted and escaped (NUL becomes U+FFFD, which
/// PostgreSQL text cannot hold); the literals travel as bound parameters, never inside the SQL.
class array_builder {
public:
    explicit array_builder(std::size_t columns) : columns_(columns, "{") {}
    /// @brief Appends `value` (nullopt: NULL) to column `column`.
    void add(std::size_t column, const std::optional<std::string>& value);
    /// @brief The literals, one parameter per column.
    std::vector<param> finish() const;

private:
    std::vector<std::string> columns_;
};

/// @brief True for a deadlock or serialization failure: PostgreSQL rolled the work back
/// and running it again is safe.
bool is_retryable(const pg_error& e);

/// @brief Runs `work` again (up to three times in all) when PostgreSQL chose it as a
/// deadlock or serialization victim.
template <typename Work>
auto with_retry(Work&& work) {
    for (int attempt = 1;; ++attempt) {
        try {
            return work();
        } catch (const pg_error& e) {
            if (!is_retryable(e) || attempt == 3) throw;
        }
    }
}

/// @brief A transaction that rolls back in its destructor unless committed.
class transaction {
public:
    explicit transaction(connection& conn, std::string_view begin = "BEGIN");
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    void commit();

private:
    connection& conn_;
    bool done_ = false;
};

}  // namespace cc::storage::postgres
