#include "cc/keys/registry_watcher.hpp"

#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::keys {

registry_watcher::registry_watcher(key_service& keys, std::chrono::milliseconds interval)
    : keys_(keys), interval_(interval) {
    thread_ = std::thread([this] { run(); });
}

registry_watcher::~registry_watcher() {
    stop();
}

void registry_watcher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void registry_watcher::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        try {
            // One indexed read of a single row when nothing changed.
            keys_.reload_if_changed();
        } catch (const storage::storage_error& e) {
            ops::log(spdlog::level::warn, "key index reload failed", {{"error", e.what()}});
        }
        lock.lock();
    }
}

}  // namespace cc::keys
