#include "cc/storage/postgres/change_feed.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include "cc/ops/logger.hpp"
#include "cc/storage/postgres/connection.hpp"
#include "cc/storage/postgres/postgres_storage.hpp"

namespace cc::storage::postgres {
namespace {

using namespace std::chrono;

std::int64_t steady_ms() {
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

/// @brief Why the feed broke; ends one session.
struct feed_lost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string connection_message(PGconn* conn) {
    std::string text = PQerrorMessage(conn);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& c : text) {
        if (c == '\n' || c == '\t') c = ' ';
    }
    return text.empty() ? "connection lost" : text;
}

/// @brief Reads what the server sent; true when at least one notification arrived.
bool drain_notifications(PGconn* conn) {
    if (!PQconsumeInput(conn)) throw feed_lost(connection_message(conn));
    bool any = false;
    while (PGnotify* n = PQnotifies(conn)) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

/// @brief Waits up to `ms` for the socket to be readable; false on timeout.
bool wait_readable(PGconn* conn, std::int64_t ms) {
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (fd.fd < 0) throw feed_lost("no socket");
    const int rc = ::poll(&fd, 1, static_cast<int>(std::max<std::int64_t>(ms, 0)));
    if (rc < 0 && errno != EINTR) throw feed_lost("poll failed");
    return rc > 0;
}

}  // namespace

change_feed::change_feed(std::string conninfo, std::function<void()> reload, options opts)
    : conninfo_(std::move(conninfo)), reload_(std::move(reload)), options_(opts) {
    thread_ = std::thread([this] { run(); });
}

change_feed::~change_feed() { stop(); }

void change_feed::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool change_feed::fresh() const noexcept {
    return steady_ms() < fresh_until_.load(std::memory_order_acquire);
}

std::string change_feed::problem() const {
    if (fresh()) return {};
    std::lock_guard lock(mutex_);
    return problem_.empty() ? "the change feed has not confirmed the key index for too long" : problem_;
}

bool change_feed::wait_fresh(milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return stopping_ || fresh(); });
    return fresh();
}

void change_feed::set_problem(std::string text) {
    {
        std::lock_guard lock(mutex_);
        problem_ = std::move(text);
    }
    changed_.notify_all();
}

void change_feed::run() {
    bool first_failure = true;  // log a loss once, not every failed reconnect
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stopping_) return;
        }
        try {
            session();
            return;  // stopping
        } catch (const std::exception& e) {
            const bool was_fresh = fresh_until_.exchange(0, std::memory_order_acq_rel) != 0;
            set_problem(std::string("change feed lost, reconnecting: ") + e.what());
            if (was_fresh || first_failure) {
                ops::log(spdlog::level::err, "change feed lost; inbound answers 503 until it is back",
                         {{"error", e.what()}});
            }
            first_failure = false;
        }
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, options_.reconnect_delay, [this] { return stopping_; });
        if (stopping_) return;
    }
}

void change_feed::session() {
    connection conn(conninfo_);
    // Named with our pid, so an operator (or a test) can tell each node's feed apart.
    conn.run("SELECT set_config('application_name', $1, false)",
             {p("cc-inbound change feed " + std::to_string(::getpid()))});
    // LISTEN before the reload: a change committed while we load is then notified too.
    conn.exec(std::string("LISTEN ") + registry_channel);
    reload_();
    PGconn* h = conn.handle();
    if (PQsetnonblocking(h, 1) != 0) throw feed_lost("cannot make the connection non-blocking");
    bool first = true;
    auto next_ping = steady_ms();
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        // Idle until the next ping, applying notifications as they come.
        while (steady_ms() < next_ping) {
            if (wait_readable(h, std::min<std::int64_t>(next_ping - steady_ms(), 100)) && drain_notifications(h)) {
                reload_();
            }
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        // A round trip: every notification of a transaction committed before it started
        // arrives before its answer, so after it (and a reload for what came) the index
        // holds everything committed before `sent`.
        const auto sent = steady_ms();
        next_ping = sent + options_.ping_interval.count();
        if (!PQsendQuery(h, "SELECT 1")) throw feed_lost(connection_message(h));
        const auto deadline = sent + options_.ping_timeout.count();
        while (PQflush(h) == 1) {
            if (steady_ms() >= deadline) throw feed_lost("the database did not answer the feed's ping in time");
            pollfd fd{PQsocket(h), POLLOUT, 0};
            ::poll(&fd, 1, 20);
        }
        bool notified = false;
        for (;;) {
            notified |= drain_notifications(h);
            if (!PQisBusy(h)) {
                PGresult* res = PQgetResult(h);
                if (!res) break;
                const auto status = PQresultStatus(res);
                PQclear(res);
                if (status != PGRES_TUPLES_OK) throw feed_lost(connection_message(h));
                continue;
            }
            const auto left = deadline - steady_ms();
            if (left <= 0) throw feed_lost("the database did not answer the feed's ping in time");
            wait_readable(h, left);
        }
        notified |= drain_notifications(h);
        if (notified) {
            const auto started = steady_ms();
            reload_();
            if (const auto took = steady_ms() - started; took > options_.staleness_bound.count() / 2) {
                ops::log(spdlog::level::warn, "key index reload is slow; inbound may answer 503 meanwhile",
                         {{"reload_ms", took}});
            }
        }
        fresh_until_.store(sent + options_.staleness_bound.count(), std::memory_order_release);
        if (first) {
            set_problem({});
            ops::log(spdlog::level::info, "change feed connected; key index loaded", {{"database", conn.target()}});
            first = false;
        }
    }
}

}  // namespace cc::storage::postgres
