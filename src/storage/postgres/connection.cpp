#include "cc/storage/postgres/connection.hpp"

#include <libpq-fe.h>

#include <charconv>

namespace cc::storage::postgres {
namespace {

/// @brief SQLSTATEs that mean the session is gone: connection exceptions (class 08)
/// and the server shutting down or terminating this backend (57P01-57P03).
bool is_connection_state(std::string_view sqlstate) {
    return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& c : text) {
        if (c == '\n' || c == '\t') c = ' ';
    }
    return text;
}

void scrub(std::string& text, const std::string& secret) {
    if (secret.empty()) return;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), "***");
    }
}

struct conninfo_parts {
    std::string host, port, dbname, user, password;
};

conninfo_parts parse_conninfo(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (!options) {
        // libpq's message can quote the string, password included: say what is wrong without it.
        if (error) PQfreemem(error);
        throw pg_error(
            "CC_DATABASE_URL is not a valid libpq connection string "
            "(expected postgresql://user@host:port/dbname or key=value pairs)",
            "", true);
    }
    conninfo_parts parts;
    for (auto* o = options; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string_view k = o->keyword;
        if (k == "host" || (k == "hostaddr" && parts.host.empty())) parts.host = o->val;
        if (k == "port") parts.port = o->val;
        if (k == "dbname") parts.dbname = o->val;
        if (k == "user") parts.user = o->val;
        if (k == "password") parts.password = o->val;
    }
    PQconninfoFree(options);
    return parts;
}

}  // namespace

param p(std::string_view text) { return std::string(text); }
param p(const std::string& text) { return text; }
param p(const char* text) { return std::string(text); }
param p(std::int64_t value) { return std::to_string(value); }
param p(const std::optional<std::string>& text) { return text; }
param p(const std::optional<std::int64_t>& value) {
    return value ? param(std::to_string(*value)) : std::nullopt;
}

// ---------------------------------------------------------------------------- result

void result::clearer::operator()(pg_result* res) const noexcept { PQclear(res); }

int result::rows() const noexcept { return PQntuples(res_.get()); }

bool result::is_null(int row, int column) const noexcept { return PQgetisnull(res_.get(), row, column) != 0; }

std::string result::text(int row, int column) const {
    return {PQgetvalue(res_.get(), row, column), static_cast<std::size_t>(PQgetlength(res_.get(), row, column))};
}

std::int64_t result::int64(int row, int column) const {
    const char* v = PQgetvalue(res_.get(), row, column);
    const auto n = static_cast<std::size_t>(PQgetlength(res_.get(), row, column));
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v, v + n, out);
    if (ec != std::errc{} || end != v + n) throw pg_error("postgres: not an integer column", "", false);
    return out;
}

std::optional<std::string> result::optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
}

std::optional<std::int64_t> result::optional_int64(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return int64(row, column);
}

std::int64_t result::affected() const {
    const char* n = PQcmdTuples(res_.get());
    return (n && *n) ? std::stoll(n) : 0;
}

std::string result_row::blob(int column) const {
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return 0;
    };
    const auto hex = text(column);
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
    }
    return out;
}

// ---------------------------------------------------------------------------- connection

std::string describe_target(const std::string& conninfo) {
    const auto parts = parse_conninfo(conninfo);
    return "host=" + (parts.host.empty() ? std::string("(local socket)") : parts.host) +
           " port=" + (parts.port.empty() ? std::string("5432") : parts.port) +
           " dbname=" + (parts.dbname.empty() ? std::string("(default)") : parts.dbname) +
           (parts.user.empty() ? std::string() : " user=" + parts.user);
}

void connection::finisher::operator()(pg_conn* conn) const noexcept { PQfinish(conn); }

connection::connection(std::string conninfo) : conninfo_(std::move(conninfo)) {
    target_ = describe_target(conninfo_);
    password_ = parse_conninfo(conninfo_).password;
    connect();
}

void connection::connect() {
    statements_.clear();
    conn_.reset();
    // Our defaults first: the operator's string (expanded from dbname) overrides them.
    const char* keywords[] = {"connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
                              "keepalives_count", "dbname", nullptr};
    const char* values[] = {"5", "cc-inbound", "10", "5", "3", conninfo_.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keywords, values, 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
        std::string message = conn_ ? one_line(PQerrorMessage(conn_.get())) : "out of memory";
        scrub(message, password_);
        conn_.reset();
        throw pg_error("cannot connect to PostgreSQL (" + target_ + "): " + message, "08001", true);
    }
    // libpq prints NOTICEs (e.g. "relation already exists, skipping") to stderr, which is
    // not our log: drop them.
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
}

void connection::ensure() {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) connect();
}

bool connection::in_transaction() const noexcept {
    return conn_ && PQtransactionStatus(conn_.get()) != PQTRANS_IDLE;
}

void connection::fail(pg_result* raw, std::string_view what) {
    result res(raw);
    std::string sqlstate;
    std::string message;
    if (raw) {
        if (const char* s = PQresultErrorField(raw, PG_DIAG_SQLSTATE)) sqlstate = s;
        if (const char* m = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY)) message = m;
    }
    if (message.empty() && conn_) message = one_line(PQerrorMessage(conn_.get()));
    scrub(message, password_);
    const bool lost = !conn_ || PQstatus(conn_.get()) != CONNECTION_OK || is_connection_state(sqlstate);
    if (lost) {
        // Drop the session: the next use reconnects, with its statements prepared afresh.
        conn_.reset();
        statements_.clear();
    }
    throw pg_error("postgres: " + std::string(what) + ": " + message + (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"),
                   sqlstate, lost);
}

void connection::exec(std::string_view sql) {
    // A session the server ended (restart, failover, pg_terminate_backend) is only found
    // out when used. Outside a transaction nothing was done yet: reconnect and run once more.
    // (Not when the session was just made: a failure then is the server's real answer.)
    const bool had_session = conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
    ensure();
    if (had_session && !in_transaction()) {
        try {
            exec_once(sql);
        } catch (const pg_error& e) {
            if (!e.connection_lost()) throw;
            exec_once(sql);
        }
        return;
    }
    exec_once(sql);
}

void connection::exec_once(std::string_view sql) {
    ensure();
    const std::string text(sql);
    PGresult* res = PQexec(conn_.get(), text.c_str());
    const auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(res, "exec");
    PQclear(res);
}

result connection::run(std::string_view sql, const std::vector<param>& params) {
    // As in exec(): a statement outside a transaction (a read, or an idempotent write such
    // as the GREATEST merge of last-used times) is run once more on a fresh session.
    const bool had_session = conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
    ensure();
    if (had_session && !in_transaction()) {
        try {
            return run_once(sql, params);
        } catch (const pg_error& e) {
            if (!e.connection_lost()) throw;
        }
    }
    return run_once(sql, params);
}

result connection::run_once(std::string_view sql, const std::vector<param>& params) {
    ensure();
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        const auto name = "cc_" + std::to_string(statements_.size() + 1);
        PGresult* prepared = PQprepare(conn_.get(), name.c_str(), std::string(sql).c_str(),
                                       static_cast<int>(params.size()), nullptr);
        if (!prepared || PQresultStatus(prepared) != PGRES_COMMAND_OK) fail(prepared, "prepare");
        PQclear(prepared);
        it = statements_.emplace(std::string(sql), name).first;
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    values.reserve(params.size());
    lengths.reserve(params.size());
    for (const auto& v : params) {
        values.push_back(v ? v->c_str() : nullptr);
        lengths.push_back(v ? static_cast<int>(v->size()) : 0);
    }
    PGresult* res = PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(params.size()), values.data(),
                                   lengths.data(), nullptr, 0);
    const auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(res, "statement");
    return result(res);
}

// ---------------------------------------------------------------------------- arrays, retries

void array_builder::add(std::size_t column, const std::optional<std::string>& value) {
    auto& out = columns_.at(column);
    if (out.back() != '{') out.push_back(',');
    if (!value) {
        out += "NULL";
        return;
    }
    out.push_back('"');
    for (char c : *value) {
        // PostgreSQL text cannot hold NUL: store U+FFFD in its place rather than fail the
        // whole group commit (the raw body keeps the original escape).
        if (c == '\0') {
            out += "\xEF\xBF\xBD";
            continue;
        }
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
}

std::vector<param> array_builder::finish() const {
    std::vector<param> out;
    out.reserve(columns_.size());
    for (const auto& c : columns_) out.emplace_back(c + "}");
    return out;
}

bool is_retryable(const pg_error& e) {
    return e.sqlstate() == "40P01" || e.sqlstate() == "40001";  // deadlock, serialization failure
}

// ---------------------------------------------------------------------------- transaction

transaction::transaction(connection& conn, std::string_view begin) : conn_(conn) {
    conn_.ensure();
    // A session left inside a transaction by an earlier failure starts clean.
    if (conn_.in_transaction()) conn_.exec("ROLLBACK");
    conn_.exec(begin);
}

transaction::~transaction() {
    if (done_) return;
    try {
        if (conn_.handle() && conn_.in_transaction()) conn_.exec("ROLLBACK");
    } catch (...) {  // destructors never throw; a broken session is re-made on next use
    }
}

void transaction::commit() {
    done_ = true;
    // COMMIT of a transaction that already failed answers ROLLBACK without an error:
    // only the COMMIT tag says the changes are durable.
    conn_.ensure();
    PGresult* res = PQexec(conn_.handle(), "COMMIT");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) conn_.fail(res, "commit");
    const std::string tag = PQcmdStatus(res);
    PQclear(res);
    if (tag != "COMMIT") throw pg_error("postgres: commit: the transaction was rolled back", "40000", false);
}

}  // namespace cc::storage::postgres
