#include "cc/ops/readiness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

using cc::ops::readiness;
using namespace std::chrono_literals;

namespace {

std::string problem_of(const cc::ops::readiness_report& r, const std::string& name) {
    for (const auto& c : r.checks) {
        if (c.name == name) return c.problem;
    }
    ADD_FAILURE() << "no check named " << name;
    return {};
}

}  // namespace

TEST(Readiness, ReadyWhenEveryCheckPassesAndNamesTheFailedOne) {
    readiness ready(20ms, 5'000ms, 10'000ms);
    std::atomic<bool> draining{false};
    ready.add_flag("draining", [&]() -> std::optional<std::string> {
        if (draining) return "shutting down";
        return std::nullopt;
    });
    ready.add_probe("storage", [] { return std::optional<std::string>(); });
    ready.start();
    auto r = ready.report();
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(problem_of(r, "storage"), "");
    draining = true;
    r = ready.report();
    EXPECT_FALSE(r.ready());
    ASSERT_EQ(r.failed().size(), 1u);
    EXPECT_EQ(r.failed()[0].name, "draining");
    EXPECT_EQ(r.failed()[0].problem, "shutting down");
}

TEST(Readiness, AThrowingProbeFailsWithItsMessage) {
    readiness ready(20ms, 5'000ms, 10'000ms);
    ready.add_probe("storage", []() -> std::optional<std::string> { throw std::runtime_error("disk I/O error"); });
    ready.start();
    const auto r = ready.report();
    EXPECT_FALSE(r.ready());
    EXPECT_EQ(problem_of(r, "storage"), "disk I/O error");
}

TEST(Readiness, ReportNeverWaitsForABlockedProbeAndCallsItStale) {
    readiness ready(10ms, 200ms, 10'000ms);
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    std::atomic<int> calls{0};
    ready.add_probe("storage", [&]() -> std::optional<std::string> {
        // The first call (in start()) passes; the next one blocks like a probe stuck
        // behind a lock, until the test releases it.
        if (calls++ == 0) return std::nullopt;
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return release; });
        return std::nullopt;
    });
    ready.start();
    while (calls.load() < 2) std::this_thread::sleep_for(5ms);  // the blocking call began
    const auto asked = std::chrono::steady_clock::now();
    auto r = ready.report();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 100ms);
    EXPECT_TRUE(r.ready());  // blocked for less than the stale bound
    std::this_thread::sleep_for(300ms);
    r = ready.report();
    EXPECT_FALSE(r.ready());
    EXPECT_NE(problem_of(r, "storage").find("has not answered"), std::string::npos) << problem_of(r, "storage");
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    ready.stop();
}

TEST(Readiness, AFailedLastCommitMakesStorageNotReadyForTheHold) {
    readiness ready(1'000ms, 5'000ms, 10'000ms);
    const auto t0 = readiness::clock::now();
    EXPECT_FALSE(ready.commit_problem(std::nullopt, std::nullopt, t0).has_value());  // nothing yet
    EXPECT_FALSE(ready.commit_problem(std::nullopt, t0, t0 + 1s).has_value());       // commits succeed
    EXPECT_TRUE(ready.commit_problem(t0 + 2s, t0, t0 + 2s).has_value());             // the last one failed
    EXPECT_TRUE(ready.commit_problem(t0 + 2s, t0, t0 + 11s).has_value());            // within the hold
    EXPECT_FALSE(ready.commit_problem(t0 + 2s, t0 + 3s, t0 + 4s).has_value());       // a success after it
    EXPECT_FALSE(ready.commit_problem(t0 + 2s, t0, t0 + 12s).has_value());           // the hold is over
    // Many successes then one failure, within one probe interval: the order decides.
    EXPECT_TRUE(ready.commit_problem(t0 + 5ms, t0 + 4ms, t0 + 6ms).has_value());
}
