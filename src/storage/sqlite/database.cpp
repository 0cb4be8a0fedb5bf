#include "cc/storage/sqlite/database.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "cc/storage/storage_error.hpp"

namespace cc::storage::sqlite {

void throw_sqlite_error(sqlite3* db, int code, std::string_view what) {
    std::string message(what);
    message += ": ";
    message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    throw storage_error(message, db ? sqlite3_extended_errcode(db) : code);
}

void database::closer::operator()(sqlite3* db) const noexcept {
    sqlite3_close_v2(db);
}

database::database(const connection_options& options) {
    static const std::set<std::string, std::less<>> levels = {"off", "normal", "full", "extra"};
    if (!levels.contains(options.synchronous)) {
        throw storage_error("unknown synchronous level: " + options.synchronous, SQLITE_MISUSE);
    }
    // A fresh install has no data folder yet: make the database's parent directory.
    if (!options.read_only && options.path != ":memory:") {
        const auto parent = std::filesystem::path(options.path).parent_path();
        std::error_code ignored;
        if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
    }
    sqlite3* raw = nullptr;
    // NOMUTEX: each connection is used by one thread at a time, under its owner's lock.
    const int flags = (options.read_only ? SQLITE_OPEN_READONLY
                                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
        // SQLite only says "unable to open database file": name the usual cause (a data
        // folder owned by another user, such as a root-owned bind mount in a container).
        const auto parent = std::filesystem::path(options.path).parent_path();
        const auto folder = parent.empty() ? std::string(".") : parent.string();
        if (!options.read_only && !std::filesystem::exists(options.path) &&
            ::access(folder.c_str(), W_OK | X_OK) != 0) {
            throw storage_error("open " + options.path + ": permission denied: the folder " + folder +
                                    " is not writable by uid " + std::to_string(::geteuid()),
                                rc);
        }
        throw_sqlite_error(raw, rc, "open " + options.path);
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, options.busy_timeout_ms);
    if (!options.read_only) {
        exec("PRAGMA journal_mode = WAL");
    }
    exec("PRAGMA synchronous = " + options.synchronous);
    exec("PRAGMA foreign_keys = ON");
}

void database::exec(std::string_view sql) {
    char* error = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw storage_error(message, sqlite3_extended_errcode(db_.get()));
    }
}

statement& database::prepared(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        it = statements_.emplace(std::string(sql), std::make_unique<statement>(db_.get(), sql)).first;
    }
    return *it->second;
}

std::int64_t database::changes() const noexcept {
    return sqlite3_changes64(db_.get());
}

std::int64_t database::last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(db_.get());
}

transaction::transaction(database& db, mode m) : db_(db) {
    db_.exec(m == mode::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

transaction::~transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
            // A failed rollback leaves SQLite to roll back on close; never throw here.
        }
    }
}

void transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace cc::storage::sqlite
