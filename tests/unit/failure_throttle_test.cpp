#include "cc/auth/failure_throttle.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

using cc::auth::failure_throttle;
using namespace std::chrono_literals;

namespace {

failure_throttle::policy small_policy() {
    failure_throttle::policy p;
    p.free_failures = 3;
    p.first_delay = 100ms;
    p.max_delay = 400ms;
    p.max_queue = 1'000ms;
    p.forget_after = 10'000ms;
    return p;
}

}  // namespace

TEST(AdminFailureThrottle, FirstFailuresAreAnsweredAtOnceThenDelaysDouble) {
    failure_throttle throttle(small_policy());
    auto now = failure_throttle::clock::now();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(throttle.on_failure("10.0.0.1", now), now);
    // Sequential guesses, each after the previous answer.
    auto at = throttle.on_failure("10.0.0.1", now);
    EXPECT_EQ(at - now, 100ms);
    now = at;
    at = throttle.on_failure("10.0.0.1", now);
    EXPECT_EQ(at - now, 200ms);
    now = at;
    at = throttle.on_failure("10.0.0.1", now);
    EXPECT_EQ(at - now, 400ms);
    now = at;
    at = throttle.on_failure("10.0.0.1", now);
    EXPECT_EQ(at - now, 400ms);  // capped
}

TEST(AdminFailureThrottle, OtherAddressesAreNotSlowedDown) {
    failure_throttle throttle(small_policy());
    const auto now = failure_throttle::clock::now();
    for (int i = 0; i < 10; ++i) throttle.on_failure("10.0.0.1", now);
    EXPECT_EQ(throttle.on_failure("10.0.0.2", now), now);
}

TEST(AdminFailureThrottle, ParallelGuessesQueueBehindEachOtherUpToTheBound) {
    failure_throttle throttle(small_policy());
    const auto now = failure_throttle::clock::now();
    for (int i = 0; i < 3; ++i) throttle.on_failure("10.0.0.1", now);
    // Sent at the same instant: answered one after the other, not all after 100 ms.
    EXPECT_EQ(throttle.on_failure("10.0.0.1", now) - now, 100ms);
    EXPECT_EQ(throttle.on_failure("10.0.0.1", now) - now, 300ms);
    EXPECT_EQ(throttle.on_failure("10.0.0.1", now) - now, 700ms);
    EXPECT_EQ(throttle.on_failure("10.0.0.1", now) - now, 1'000ms);  // max_queue
    EXPECT_EQ(throttle.on_failure("10.0.0.1", now) - now, 1'000ms);
}

TEST(AdminFailureThrottle, AQuietAddressIsForgotten) {
    failure_throttle throttle(small_policy());
    const auto now = failure_throttle::clock::now();
    for (int i = 0; i < 6; ++i) throttle.on_failure("10.0.0.1", now);
    const auto later = now + 11'000ms;
    EXPECT_EQ(throttle.on_failure("10.0.0.1", later), later);
}

TEST(AdminFailureThrottle, TableStaysBounded) {
    auto p = small_policy();
    p.max_addresses = 100;
    failure_throttle throttle(p);
    const auto now = failure_throttle::clock::now();
    for (int i = 0; i < 1'000; ++i) throttle.on_failure("10.0." + std::to_string(i), now);
    SUCCEED();  // no growth beyond the bound (checked by the sanitizer builds' memory use)
}

TEST(AdminFailureThrottle, DelayedAnswerArrivesLaterOnTheTimerThread) {
    auto p = small_policy();
    p.free_failures = 0;
    p.first_delay = 150ms;
    failure_throttle throttle(p);
    std::promise<std::chrono::steady_clock::time_point> answered;
    const auto asked = std::chrono::steady_clock::now();
    throttle.answer_failure("10.0.0.9", [&] { answered.set_value(std::chrono::steady_clock::now()); });
    // The caller was not held: it is back before the answer.
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 100ms);
    auto future = answered.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    EXPECT_GE(future.get() - asked, 150ms);
}

TEST(AdminFailureThrottle, StopAnswersWhatIsPendingAtOnce) {
    auto p = small_policy();
    p.free_failures = 0;
    p.first_delay = 60'000ms;
    p.max_delay = 60'000ms;
    p.max_queue = 60'000ms;
    failure_throttle throttle(p);
    std::atomic<int> answered{0};
    throttle.answer_failure("10.0.0.9", [&] { ++answered; });
    EXPECT_EQ(answered.load(), 0);
    const auto started = std::chrono::steady_clock::now();
    throttle.stop();
    EXPECT_EQ(answered.load(), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    throttle.answer_failure("10.0.0.9", [&] { ++answered; });  // after stop: at once
    EXPECT_EQ(answered.load(), 2);
}
