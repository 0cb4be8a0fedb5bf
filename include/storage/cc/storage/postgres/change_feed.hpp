#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cc::storage::postgres {

/// @brief Keeps this node's in-memory key index current with every other node's
/// changes, and says when it may not be. A dedicated connection LISTENs on the
/// registry channel; on every (re)connect it LISTENs first, then reloads, then applies
/// notifications, so no change falls between the load and the feed. A round trip every
/// `ping_interval` proves the feed alive: the index counts as fresh only until
/// `staleness_bound` after the last proven round trip, so a node whose feed is cut
/// stops trusting its index within that bound, even when the loss is silent.
class change_feed {
public:
    struct options {
        std::chrono::milliseconds ping_interval{200};
        /// A slow answer only lets freshness lapse (503 meanwhile); past this the session is dropped.
        std::chrono::milliseconds ping_timeout{3000};
        std::chrono::milliseconds staleness_bound{900};
        std::chrono::milliseconds reconnect_delay{250};
    };

    /// @brief Starts the feed's thread. `reload` replaces the index from storage; it runs
    /// on that thread and may throw (the feed then reconnects and reloads again).
    change_feed(std::string conninfo, std::function<void()> reload, options opts);
    change_feed(std::string conninfo, std::function<void()> reload) : change_feed(std::move(conninfo), std::move(reload), options{}) {}
    ~change_feed();
    change_feed(const change_feed&) = delete;
    change_feed& operator=(const change_feed&) = delete;

    /// @brief True while the index is known to hold every change committed more than
    /// `staleness_bound` ago. Lock-free: called on every inbound request.
    bool fresh() const noexcept;
    /// @brief Why the index is not fresh (empty when it is), for /readyz and logs.
    std::string problem() const;
    /// @brief Waits until the index is fresh or `timeout` passes; returns fresh().
    bool wait_fresh(std::chrono::milliseconds timeout);
    /// @brief Stops the thread. Idempotent.
    void stop();

private:
    void run();
    void session();
    void set_problem(std::string text);

    const std::string conninfo_;
    const std::function<void()> reload_;
    const options options_;
    std::atomic<std::int64_t> fresh_until_{0};  ///< steady-clock ms
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string problem_ = "the key index has not been loaded from the change feed yet";
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cc::storage::postgres
