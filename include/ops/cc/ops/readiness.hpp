#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cc::ops {

/// @brief What GET /readyz reports: ready, or the checks that failed and why.
struct readiness_report {
    struct check {
        std::string name;     ///< "storage", "draining", ...
        std::string problem;  ///< empty when the check passed
    };
    std::vector<check> checks;

    bool ready() const noexcept;
    /// @brief The failed checks only.
    std::vector<check> failed() const;
};

/// @brief Readiness without blocking the caller: slow checks (a storage query) run on a
/// background thread that caches their last result; fast checks (the drain flag, the
/// commit counters) are read at each request. A network thread asking /readyz never
/// waits on storage or on a lock a long admin listing holds.
class readiness {
public:
    using clock = std::chrono::steady_clock;
    /// @brief A check: nullopt when it passes, else the problem (one line, no secrets).
    /// A probe that throws fails with the exception's message.
    using check_fn = std::function<std::optional<std::string>()>;

    /// @param interval      how often the background probes run
    /// @param stale_after   a probe that has not completed for this long fails ("not answering")
    /// @param commit_hold   how long a failed event commit (none since succeeded) keeps storage not ready
    readiness(std::chrono::milliseconds interval, std::chrono::milliseconds stale_after,
              std::chrono::milliseconds commit_hold);
    ~readiness();
    readiness(const readiness&) = delete;
    readiness& operator=(const readiness&) = delete;

    /// @brief A check run on the background thread (before start()).
    void add_probe(std::string name, check_fn probe);
    /// @brief A cheap, non-blocking check evaluated at each report (before start()).
    void add_flag(std::string name, check_fn flag);

    /// @brief Starts the background thread; the first probe round runs at once.
    void start();
    /// @brief Stops the background thread (also done by the destructor).
    void stop();

    /// @brief The current state; never blocks on a probe.
    readiness_report report();

    /// @brief The storage problem the event commits show, if any: the last commit failed
    /// (no success after it) less than `commit_hold` ago. After the hold the node is offered
    /// traffic again, so that a node the balancer took out can prove it has recovered.
    /// Times are those of the last failed and last successful commit (nullopt: none yet).
    std::optional<std::string> commit_problem(std::optional<clock::time_point> last_failure,
                                              std::optional<clock::time_point> last_success,
                                              clock::time_point now) const;

private:
    struct probe_state {
        std::string name;
        check_fn probe;
        std::optional<std::string> problem = std::string("not checked yet");
        clock::time_point completed_at{};
        clock::time_point started_at{};
        bool running = false;
    };
    void loop();

    const std::chrono::milliseconds interval_, stale_after_, commit_hold_;
    std::vector<std::pair<std::string, check_fn>> flags_;
    std::mutex mutex_;  // guards probes_' results, the commit state and stopping_
    std::condition_variable wake_;
    std::vector<probe_state> probes_;
    bool stopping_ = false;
    std::thread thread_;

};

}  // namespace cc::ops
