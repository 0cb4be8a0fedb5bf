#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace cc::storage::sqlite {

/// @brief A prepared statement. Parameters are always bound, never spliced into SQL.
/// Reused: `reset()` (or the scope guard) readies it for the next execution.
class statement {
public:
    statement(sqlite3* db, std::string_view sql);

    statement& bind(int index, std::int64_t value);
    statement& bind(int index, std::string_view value);
    statement& bind(int index, const std::optional<std::string>& value);
    statement& bind(int index, const std::optional<std::int64_t>& value);
    /// @brief Binds text that SQLite reads in place instead of copying: the caller keeps
    /// it alive and unchanged until the statement is reset (a statement_scope ends). For
    /// the event writer's rows, where the copies cost more than the insert's own work.
    statement& bind_borrowed(int index, std::string_view value);
    statement& bind_borrowed(int index, const std::optional<std::string>& value);
    statement& bind_blob(int index, const void* data, std::size_t size);
    statement& bind_null(int index);

    /// @brief Runs one step; true while a row is available.
    bool step();
    /// @brief Runs a statement that returns no rows.
    void run();
    /// @brief Clears bindings and rewinds, so the statement can run again.
    void reset() noexcept;

    std::int64_t column_int64(int index) const;
    std::string column_text(int index) const;
    std::optional<std::string> column_optional_text(int index) const;
    std::optional<std::int64_t> column_optional_int64(int index) const;
    std::string column_blob(int index) const;

private:
    struct finalizer {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    sqlite3* db_;
    std::unique_ptr<sqlite3_stmt, finalizer> stmt_;
};

/// @brief The current row of a statement, as the shared record readers read it.
class statement_row {
public:
    explicit statement_row(const statement& stmt) : stmt_(stmt) {}
    std::string text(int column) const { return stmt_.column_text(column); }
    std::int64_t int64(int column) const { return stmt_.column_int64(column); }
    std::optional<std::string> optional_text(int column) const { return stmt_.column_optional_text(column); }
    std::optional<std::int64_t> optional_int64(int column) const { return stmt_.column_optional_int64(column); }
    std::string blob(int column) const { return stmt_.column_blob(column); }

private:
    const statement& stmt_;
};

/// @brief Resets a reused statement when the scope ends, whatever happened.
class statement_scope {
public:
    explicit statement_scope(statement& stmt) : stmt_(stmt) {}
    ~statement_scope() { stmt_.reset(); }
    statement_scope(const statement_scope&) = delete;
    statement_scope& operator=(const statement_scope&) = delete;
    statement* operator->() { return &stmt_; }
    statement& operator*() { return stmt_; }

private:
    statement& stmt_;
};

}  // namespace cc::storage::sqlite
