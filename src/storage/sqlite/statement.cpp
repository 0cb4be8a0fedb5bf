#include "cc/storage/sqlite/statement.hpp"

#include <sqlite3.h>

#include "cc/storage/sqlite/database.hpp"

namespace cc::storage::sqlite {

void statement::finalizer::operator()(sqlite3_stmt* stmt) const noexcept {
    sqlite3_finalize(stmt);
}

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    stmt_.reset(raw);
    if (rc != SQLITE_OK) {
        throw_sqlite_error(db, rc, "prepare");
    }
}

statement& statement::bind(int index, std::int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "bind");
    return *this;
}

statement& statement::bind(int index, std::string_view value) {
    // SQLITE_TRANSIENT: SQLite copies the text, so callers may pass temporaries.
    const int rc = sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "bind");
    return *this;
}

statement& statement::bind_borrowed(int index, std::string_view value) {
    const int rc = sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "bind");
    return *this;
}

statement& statement::bind_borrowed(int index, const std::optional<std::string>& value) {
    return value ? bind_borrowed(index, std::string_view(*value)) : bind_null(index);
}

statement& statement::bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

statement& statement::bind(int index, const std::optional<std::int64_t>& value) {
    return value ? bind(index, *value) : bind_null(index);
}

statement& statement::bind_blob(int index, const void* data, std::size_t size) {
    const int rc = sqlite3_bind_blob64(stmt_.get(), index, data, size, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "bind");
    return *this;
}

statement& statement::bind_null(int index) {
    const int rc = sqlite3_bind_null(stmt_.get(), index);
    if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "bind");
    return *this;
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite_error(db_, rc, "step");
}

void statement::run() {
    while (step()) {
    }
}

void statement::reset() noexcept {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
}

std::int64_t statement::column_int64(int index) const {
    return sqlite3_column_int64(stmt_.get(), index);
}

std::string statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(stmt_.get(), index);
    const int size = sqlite3_column_bytes(stmt_.get(), index);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size))
                : std::string();
}

std::optional<std::string> statement::column_optional_text(int index) const {
    if (sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL) return std::nullopt;
    return column_text(index);
}

std::optional<std::int64_t> statement::column_optional_int64(int index) const {
    if (sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL) return std::nullopt;
    return column_int64(index);
}

std::string statement::column_blob(int index) const {
    const auto* data = sqlite3_column_blob(stmt_.get(), index);
    const int size = sqlite3_column_bytes(stmt_.get(), index);
    return data ? std::string(static_cast<const char*>(data), static_cast<std::size_t>(size))
                : std::string();
}

}  // namespace cc::storage::sqlite
