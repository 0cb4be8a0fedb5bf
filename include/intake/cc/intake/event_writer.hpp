#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cc/events/event.hpp"
#include "cc/storage/store.hpp"

namespace cc::intake {

/// @brief Events of one request, on their way to storage together.
struct write_request {
    std::string domain;
    std::string key_id;
    util::millis received_at = 0;
    std::vector<events::event> events;
};

/// @brief Called once per request when its events are durable (one outcome per event),
/// or with nullopt when storage failed and nothing of it was stored.
using write_completion = std::function<void(std::optional<std::vector<storage::insert_outcome>>)>;

/// @brief Group commit: requests hand their events to one writer thread, which commits
/// everything waiting in one transaction (up to a cap) and then completes each request.
/// Under load, one fsync acknowledges many requests.
///
/// When the store defers the sync of its commits (store::defers_event_sync), a second
/// thread makes them durable: the writer hands each committed group over and starts the
/// next transaction at once, and the sync thread completes every group it has after one
/// sync_events(), in commit order. Nothing is acknowledged before it is durable.
class event_writer {
public:
    /// @brief Default bound on the bytes of queued events (see queue_max_bytes).
    static constexpr std::size_t default_queue_max_bytes = 256 * 1024 * 1024;

    /// @param queue_capacity  most events waiting at once
    /// @param queue_max_bytes most bytes of events waiting at once (raw bodies and fields), so
    ///                        100k large events cannot hold gigabytes while storage is slow
    event_writer(storage::store& store, std::size_t max_batch_events, std::size_t queue_capacity,
                 std::size_t queue_max_bytes = default_queue_max_bytes);
    ~event_writer();

    /// @brief Queues a request. False (and `done` is not called) when the queue is full
    /// or the writer is stopping: the caller answers 503.
    bool submit(write_request request, write_completion done);

    /// @brief Commits everything already queued, then stops the thread. Idempotent.
    void stop();

    /// @brief Events waiting to be committed.
    std::size_t queued_events() const;

    /// @brief Bytes of the events waiting to be committed (as approximate_bytes counts them).
    std::size_t queued_bytes() const;

    /// @brief What one event holds in memory while queued: its raw body, its fields, the struct.
    static std::size_t approximate_bytes(const events::event& e) noexcept;

private:
    struct pending {
        write_request request;
        write_completion done;
        std::size_t bytes = 0;
    };

    /// @brief A committed group waiting for the sync that makes it durable.
    struct committed {
        std::vector<pending> group;
        std::vector<storage::insert_outcome> outcomes;
        std::chrono::steady_clock::time_point started;
    };

    void run();
    void run_sync();
    void commit(std::vector<pending>& group);
    static void complete(std::vector<pending>& group, const std::optional<std::vector<storage::insert_outcome>>& outcomes);

    storage::store& store_;
    const std::size_t max_batch_events_;
    const std::size_t queue_capacity_;
    const std::size_t queue_max_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<pending> queue_;
    std::size_t queued_events_ = 0;
    std::size_t queued_bytes_ = 0;
    bool stopping_ = false;
    std::thread thread_;

    // The sync stage (used only when the store defers its syncs).
    std::mutex sync_mutex_;
    std::condition_variable sync_wake_;
    std::vector<committed> unsynced_;
    bool sync_stopping_ = false;
    std::thread sync_thread_;
};

}  // namespace cc::intake
