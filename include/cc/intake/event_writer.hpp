#pragma once
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
class event_writer {
public:
    event_writer(storage::store& store, std::size_t max_batch_events, std::size_t queue_capacity);
    ~event_writer();

    /// @brief Queues a request. False (and `done` is not called) when the queue is full
    /// or the writer is stopping: the caller answers 503.
    bool submit(write_request request, write_completion done);

    /// @brief Commits everything already queued, then stops the thread. Idempotent.
    void stop();

    /// @brief Events waiting to be committed.
    std::size_t queued_events() const;

private:
    struct pending {
        write_request request;
        write_completion done;
    };

    void run();
    void commit(std::vector<pending>& group);

    storage::store& store_;
    const std::size_t max_batch_events_;
    const std::size_t queue_capacity_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<pending> queue_;
    std::size_t queued_events_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cc::intake
