#include "cc/intake/event_writer.hpp"

#include <chrono>

#include "cc/ops/logger.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::intake {

event_writer::event_writer(storage::store& store, std::size_t max_batch_events, std::size_t queue_capacity,
                           std::size_t queue_max_bytes)
    : store_(store),
      max_batch_events_(max_batch_events),
      queue_capacity_(queue_capacity),
      queue_max_bytes_(queue_max_bytes) {
    if (store_.defers_event_sync()) sync_thread_ = std::thread([this] { run_sync(); });
    thread_ = std::thread([this] { run(); });
}

event_writer::~event_writer() {
    stop();
}

std::size_t event_writer::approximate_bytes(const events::event& e) noexcept {
    std::size_t n = sizeof(events::event) + e.name.size() + e.raw.size();
    for (const auto* field : {&e.event_id, &e.email, &e.email_sha256, &e.phone, &e.phone_sha256, &e.external_id,
                              &e.click_id, &e.value, &e.currency, &e.properties}) {
        if (*field) n += (*field)->size();
    }
    return n;
}

bool event_writer::submit(write_request request, write_completion done) {
    const auto count = request.events.size();
    std::size_t bytes = 0;
    for (const auto& e : request.events) bytes += approximate_bytes(e);
    {
        std::lock_guard lock(mutex_);
        // Bounded in events and in bytes; a full queue is a 503 the client retries.
        if (stopping_ || queued_events_ + count > queue_capacity_ || queued_bytes_ + bytes > queue_max_bytes_) {
            return false;
        }
        queued_events_ += count;
        queued_bytes_ += bytes;
        queue_.push_back({std::move(request), std::move(done), bytes});
        ops::global_metrics().writer_queue_depth = static_cast<std::int64_t>(queued_events_);
    }
    wake_.notify_one();
    return true;
}

void event_writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    // The writer has handed over its last group: the sync stage drains, then ends.
    {
        std::lock_guard lock(sync_mutex_);
        sync_stopping_ = true;
    }
    sync_wake_.notify_one();
    if (sync_thread_.joinable()) sync_thread_.join();
}

std::size_t event_writer::queued_events() const {
    std::lock_guard lock(mutex_);
    return queued_events_;
}

std::size_t event_writer::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return queued_bytes_;
}

void event_writer::run() {
    std::vector<pending> group;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued is committed
            // Take whole requests while they fit; one request alone may exceed the cap.
            std::size_t events = 0;
            while (!queue_.empty() &&
                   (group.empty() || events + queue_.front().request.events.size() <= max_batch_events_)) {
                events += queue_.front().request.events.size();
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        commit(group);
        group.clear();
    }
}

void event_writer::commit(std::vector<pending>& group) {
    auto& metrics = ops::global_metrics();
    std::vector<storage::event_insert> inserts;
    std::size_t bytes = 0;
    for (const auto& p : group) {
        bytes += p.bytes;
        for (const auto& e : p.request.events) {
            inserts.push_back({p.request.domain, p.request.key_id, p.request.received_at, &e});
        }
    }
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::vector<storage::insert_outcome>> outcomes;
    try {
        outcomes = store_.insert_events(inserts);
        metrics.commit_batch_size.observe({}, static_cast<double>(inserts.size()));
    } catch (const storage::storage_error& e) {
        metrics.commit_failures.inc({});
        ops::log(spdlog::level::err, "event commit failed",
                 {{"error", e.what()}, {"sqlite_code", e.code()}, {"events", inserts.size()}});
    }
    {
        std::lock_guard lock(mutex_);
        queued_events_ -= inserts.size();
        queued_bytes_ -= bytes;
        metrics.writer_queue_depth = static_cast<std::int64_t>(queued_events_);
    }
    if (outcomes && sync_thread_.joinable()) {
        {
            std::lock_guard lock(sync_mutex_);
            unsynced_.push_back({std::move(group), std::move(*outcomes), started});
        }
        sync_wake_.notify_one();
        return;
    }
    if (outcomes) {
        metrics.commit_duration.observe(
            {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    complete(group, outcomes);
}

void event_writer::run_sync() {
    auto& metrics = ops::global_metrics();
    std::vector<committed> batch;
    for (;;) {
        {
            std::unique_lock lock(sync_mutex_);
            sync_wake_.wait(lock, [this] { return sync_stopping_ || !unsynced_.empty(); });
            if (unsynced_.empty()) return;  // stopping, and every group is completed
            batch.swap(unsynced_);
        }
        // One sync covers every group committed before it.
        bool durable = true;
        try {
            store_.sync_events();
        } catch (const storage::storage_error& e) {
            // The rows are committed but may not be on disk: answer as a failed commit, so
            // clients retry (a retry of a stored event is then a duplicate, not a loss).
            durable = false;
            metrics.commit_failures.inc({});
            ops::log(spdlog::level::err, "event sync failed", {{"error", e.what()}, {"sqlite_code", e.code()}});
        }
        const auto now = std::chrono::steady_clock::now();
        for (auto& c : batch) {
            if (durable) {
                metrics.commit_duration.observe({}, std::chrono::duration<double>(now - c.started).count());
                complete(c.group, std::move(c.outcomes));
            } else {
                complete(c.group, std::nullopt);
            }
        }
        batch.clear();
    }
}

void event_writer::complete(std::vector<pending>& group,
                            const std::optional<std::vector<storage::insert_outcome>>& outcomes) {
    std::size_t offset = 0;
    for (auto& p : group) {
        const auto n = p.request.events.size();
        if (outcomes) {
            p.done(std::vector<storage::insert_outcome>(outcomes->begin() + static_cast<std::ptrdiff_t>(offset),
                                                        outcomes->begin() + static_cast<std::ptrdiff_t>(offset + n)));
        } else {
            p.done(std::nullopt);
        }
        offset += n;
    }
}

}  // namespace cc::intake
