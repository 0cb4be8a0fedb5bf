#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cc/keys/key_controls.hpp"
#include "cc/keys/key_registry.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/storage/store.hpp"

namespace cc::app {

/// @brief Background duties, off the request path: writes coalesced last-used times,
/// reloads the key index when another process (the CLI) changed keys, and purges
/// events past the retention window in small batches.
class maintenance {
public:
    maintenance(storage::store& store, keys::key_registry& registry, keys::key_service& keys,
                std::chrono::milliseconds interval, int retention_days, keys::key_controls* controls = nullptr);
    ~maintenance();

    /// @brief Stops the thread after one last flush of last-used times. Idempotent.
    void stop();

    /// @brief Writes pending last-used times now.
    void flush_last_used();

private:
    void run();
    void purge_expired_events();

    storage::store& store_;
    keys::key_registry& registry_;
    keys::key_service& keys_;
    const std::chrono::milliseconds interval_;
    const int retention_days_;
    keys::key_controls* controls_;  ///< usage and rejections, flushed with last-used times
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cc::app
