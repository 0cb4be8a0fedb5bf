#include "cc/app/maintenance.hpp"

#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::app {

using namespace std::chrono;

maintenance::maintenance(storage::store& store, keys::key_registry& registry, keys::key_service& keys,
                         milliseconds interval, int retention_days, keys::key_controls* controls)
    : store_(store), registry_(registry), keys_(keys), interval_(interval), retention_days_(retention_days),
      controls_(controls) {
    thread_ = std::thread([this] { run(); });
}

maintenance::~maintenance() {
    stop();
}

void maintenance::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    flush_last_used();
}

void maintenance::flush_last_used() {
    if (controls_) controls_->flush();  // usage counts and refusals, coalesced with last-used times
    auto updates = registry_.take_last_used();
    if (updates.empty()) return;
    try {
        store_.save_last_used(updates);
    } catch (const storage::storage_error& e) {
        // Put them back for the next try: they are only times, but they are the user's.
        registry_.restore_last_used(updates);
        ops::log(spdlog::level::warn, "last-used flush failed", {{"error", e.what()}});
    }
}

void maintenance::purge_expired_events() {
    if (controls_) controls_->purge();
    const auto cutoff = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() -
                        static_cast<std::int64_t>(retention_days_) * 24 * 3600 * 1000;
    try {
        // Small batches keep each delete short, so intake never waits long behind it.
        for (int round = 0; round < 10; ++round) {
            if (store_.purge_events(cutoff, 500) < 500) break;
        }
    } catch (const storage::storage_error& e) {
        ops::log(spdlog::level::warn, "retention purge failed", {{"error", e.what()}});
    }
}

void maintenance::run() {
    // A short tick for index reloads; last-used flushes, checkpoints and purges each on their own period.
    const auto tick = std::min<milliseconds>(interval_, milliseconds(250));
    auto next_flush = steady_clock::now() + interval_;
    auto next_checkpoint = steady_clock::now() + seconds(1);
    auto next_purge = steady_clock::now() + seconds(2);
    const auto guarded = [](const char* what, auto&& work) {
        try {
            work();
        } catch (const storage::storage_error& e) {
            ops::log(spdlog::level::warn, what, {{"error", e.what()}});
        }
    };
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, tick, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        const auto now = steady_clock::now();
        guarded("key index reload failed", [this] { keys_.reload_if_changed(); });
        if (now >= next_flush) {
            flush_last_used();
            next_flush = now + interval_;
        }
        if (now >= next_checkpoint) {
            guarded("checkpoint failed", [this] { store_.checkpoint(); });
            next_checkpoint = now + seconds(1);
        }
        if (now >= next_purge) {
            purge_expired_events();
            next_purge = now + minutes(1);
        }
        lock.lock();
    }
}

}  // namespace cc::app
