#pragma once
#include "cc/util/clock.hpp"

namespace cc::keys {

/// @brief Requests per second and burst of one plan's per-key token bucket.
struct rate_limit {
    double per_second = 0;
    double burst = 0;
};

/// @brief A token bucket: `burst` tokens, refilled at `per_second`. Not thread-safe:
/// its owner locks it.
class token_bucket {
public:
    /// @brief Takes one token if there is one. Otherwise sets `retry_after_ms` to
    /// when the next token arrives and returns false.
    bool try_take(double per_second, double burst, util::millis now, util::millis& retry_after_ms) noexcept;

    /// @brief Takes `count` more tokens right after a successful try_take, even below zero:
    /// a request that turns out to carry many events (a batch) pays for each of them, and
    /// the debt delays the key's next requests until the refill has repaid it.
    void charge(double count) noexcept;

private:
    bool started_ = false;  ///< a new bucket starts full
    double tokens_ = 0;
    util::millis last_ = 0;
};

}  // namespace cc::keys
