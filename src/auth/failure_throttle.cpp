#include "cc/auth/failure_throttle.hpp"

#include <algorithm>
#include <vector>

namespace cc::auth {

failure_throttle::failure_throttle(policy p) : policy_(p), timer_([this] { run(); }) {}

failure_throttle::~failure_throttle() {
    stop();
}

failure_throttle::clock::time_point failure_throttle::on_failure(const std::string& address, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (records_.size() >= policy_.max_addresses && !records_.contains(address)) {
        // Forget the addresses that have been quiet; if that is not enough, start afresh
        // rather than grow without bound.
        std::erase_if(records_, [&](const auto& r) { return now - r.second.last_failure > policy_.forget_after; });
        if (records_.size() >= policy_.max_addresses) records_.clear();
    }
    auto& r = records_[address];
    if (r.failures > 0 && now - r.last_failure > policy_.forget_after) r = record{};
    ++r.failures;
    r.last_failure = now;
    if (r.failures <= policy_.free_failures || policy_.first_delay.count() <= 0) return now;
    const int doublings = std::min(r.failures - policy_.free_failures - 1, 20);
    const auto delay = std::min<std::chrono::milliseconds>(policy_.first_delay * (1LL << doublings), policy_.max_delay);
    const auto answer_at = std::min(std::max(now, r.next_answer) + delay, now + policy_.max_queue);
    r.next_answer = answer_at;
    return answer_at;
}

void failure_throttle::answer_failure(const std::string& address, std::function<void()> answer) {
    const auto now = clock::now();
    const auto at = on_failure(address, now);
    if (at <= now) return answer();
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            pending_.emplace(at, std::move(answer));
            wake_.notify_all();
            return;
        }
    }
    answer();
}

void failure_throttle::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (timer_.joinable()) timer_.join();
}

void failure_throttle::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (stopping_) break;
        if (pending_.empty()) {
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            continue;
        }
        const auto first = pending_.begin()->first;
        if (clock::now() < first) {
            wake_.wait_until(lock, first);
            continue;
        }
        auto answer = std::move(pending_.begin()->second);
        pending_.erase(pending_.begin());
        lock.unlock();
        answer();  // hands the response to its connection's executor: quick
        lock.lock();
    }
    // Shutting down: nobody waits for a delayed 401 any longer.
    std::vector<std::function<void()>> left;
    for (auto& [at, answer] : pending_) left.push_back(std::move(answer));
    pending_.clear();
    lock.unlock();
    for (auto& answer : left) answer();
}

}  // namespace cc::auth
