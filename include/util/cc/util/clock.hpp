#pragma once
#include <chrono>
#include <cstdint>

namespace cc::util {

/// @brief Milliseconds since the Unix epoch, UTC. Every stored time uses it.
using millis = std::int64_t;

/// @brief Wall-clock source; an interface so tests can fix time instead of sleeping.
class clock {
public:
    virtual ~clock() = default;
    virtual millis now_ms() const = 0;
};

/// @brief The system clock.
class system_clock final : public clock {
public:
    millis now_ms() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
};

/// @brief A clock that tests set by hand.
class manual_clock final : public clock {
public:
    explicit manual_clock(millis now) : now_(now) {}
    millis now_ms() const override { return now_; }
    void set(millis now) { now_ = now; }
    void advance(millis by) { now_ += by; }

private:
    millis now_;
};

}  // namespace cc::util
