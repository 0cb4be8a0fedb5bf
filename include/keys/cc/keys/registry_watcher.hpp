#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cc/keys/key_service.hpp"

namespace cc::keys {

/// @brief Keeps the in-memory key index in step with changes made by another process
/// on the same database (the operator CLI): a thread of its own asks the store for its
/// registry version every `interval` and reloads when it moved. It has its own thread so
/// that slower background work (purges, checkpoints) never delays a revocation.
class registry_watcher {
public:
    registry_watcher(key_service& keys, std::chrono::milliseconds interval);
    ~registry_watcher();
    registry_watcher(const registry_watcher&) = delete;
    registry_watcher& operator=(const registry_watcher&) = delete;

    /// @brief Stops the thread. Idempotent.
    void stop();

private:
    void run();

    key_service& keys_;
    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cc::keys
