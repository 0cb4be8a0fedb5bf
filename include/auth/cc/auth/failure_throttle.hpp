#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace cc::auth {

/// @brief Slows down repeated failed admin authentications per client address, without
/// ever holding a network thread: a failure's answer (still 401) is delivered later by
/// the throttle's own timer thread. The first `free_failures` failures of an address are
/// answered at once; each further one waits `first_delay`, doubling up to `max_delay`,
/// and an address's delayed answers queue behind each other, so parallel guesses from
/// one address are as slow as sequential ones. An address without a failure for
/// `forget_after` starts afresh.
class failure_throttle {
public:
    using clock = std::chrono::steady_clock;

    struct policy {
        int free_failures = 5;
        std::chrono::milliseconds first_delay{250};
        std::chrono::milliseconds max_delay{4'000};
        std::chrono::milliseconds max_queue{30'000};  ///< an address's answers never wait longer
        std::chrono::milliseconds forget_after{600'000};
        std::size_t max_addresses = 100'000;          ///< bound on the memory the table takes
    };

    explicit failure_throttle(policy p);
    ~failure_throttle();
    failure_throttle(const failure_throttle&) = delete;
    failure_throttle& operator=(const failure_throttle&) = delete;

    /// @brief Records a failure of `address` at `now`; returns when to answer it.
    clock::time_point on_failure(const std::string& address, clock::time_point now);

    /// @brief Records a failure and runs `answer` at its time (at once when not delayed).
    void answer_failure(const std::string& address, std::function<void()> answer);

    /// @brief Runs every pending answer now and stops the timer thread (shutdown).
    void stop();

private:
    struct record {
        int failures = 0;
        clock::time_point last_failure{};
        clock::time_point next_answer{};
    };
    void run();

    const policy policy_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::unordered_map<std::string, record> records_;
    std::multimap<clock::time_point, std::function<void()>> pending_;
    bool stopping_ = false;
    std::thread timer_;
};

}  // namespace cc::auth
