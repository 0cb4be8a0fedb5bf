#include "cc/ops/readiness.hpp"

namespace cc::ops {

bool readiness_report::ready() const noexcept {
    for (const auto& c : checks) {
        if (!c.problem.empty()) return false;
    }
    return true;
}

std::vector<readiness_report::check> readiness_report::failed() const {
    std::vector<check> out;
    for (const auto& c : checks) {
        if (!c.problem.empty()) out.push_back(c);
    }
    return out;
}

readiness::readiness(std::chrono::milliseconds interval, std::chrono::milliseconds stale_after,
                     std::chrono::milliseconds commit_hold)
    : interval_(interval), stale_after_(stale_after), commit_hold_(commit_hold) {}

readiness::~readiness() {
    stop();
}

void readiness::add_probe(std::string name, check_fn probe) {
    probe_state state;
    state.name = std::move(name);
    state.probe = std::move(probe);
    probes_.push_back(std::move(state));
}

void readiness::add_flag(std::string name, check_fn flag) {
    flags_.emplace_back(std::move(name), std::move(flag));
}

void readiness::start() {
    // The first round runs here, so that the service is ready once it listens.
    for (auto& p : probes_) {
        try {
            p.problem = p.probe();
        } catch (const std::exception& e) {
            p.problem = std::string(e.what());
        }
        p.completed_at = clock::now();
    }
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
        lock.unlock();
        loop();
    });
}

void readiness::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void readiness::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        for (auto& p : probes_) {
            p.running = true;
            p.started_at = clock::now();
            // The probe runs unlocked: report() must never wait for it.
            lock.unlock();
            std::optional<std::string> problem;
            try {
                problem = p.probe();
            } catch (const std::exception& e) {
                problem = std::string(e.what());
            } catch (...) {
                problem = std::string("the check failed");
            }
            lock.lock();
            p.problem = std::move(problem);
            p.completed_at = clock::now();
            p.running = false;
            if (stopping_) return;
        }
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

std::optional<std::string> readiness::commit_problem(std::optional<clock::time_point> last_failure,
                                                     std::optional<clock::time_point> last_success,
                                                     clock::time_point now) const {
    if (!last_failure) return std::nullopt;
    if (last_success && *last_success >= *last_failure) return std::nullopt;
    if (now - *last_failure >= commit_hold_) return std::nullopt;
    return std::string("event commits are failing (see the error log and cc_commit_failures_total)");
}

readiness_report readiness::report() {
    readiness_report out;
    for (const auto& [name, flag] : flags_) {
        std::optional<std::string> problem;
        try {
            problem = flag();
        } catch (const std::exception& e) {
            problem = std::string(e.what());
        }
        out.checks.push_back({name, problem.value_or(std::string())});
    }
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    for (const auto& p : probes_) {
        std::string problem = p.problem.value_or(std::string());
        const auto since = p.running ? p.started_at : p.completed_at;
        if (now - since > stale_after_) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
            problem = p.running ? "the check has not answered for " + std::to_string(ms) + " ms"
                                : "the check has not run for " + std::to_string(ms) + " ms";
        }
        // Two entries of one name (a probe and a flag) merge: the first problem wins.
        bool merged = false;
        for (auto& c : out.checks) {
            if (c.name == p.name) {
                if (c.problem.empty()) c.problem = problem;
                merged = true;
            }
        }
        if (!merged) out.checks.push_back({p.name, problem});
    }
    return out;
}

}  // namespace cc::ops
