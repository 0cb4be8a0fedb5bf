#pragma once
#include "cc/util/clock.hpp"

namespace cc::keys {

/// @brief A token bucket: `burst` tokens, refilled at `per_second`. Not thread-safe:
/// its owner locks it.
class token_bucket {
public:
    /// @brief Takes one token if there is one. Otherwise sets `retry_after_ms` to
    /// when the next token arrives and returns false.
    bool try_take(double per_second, double burst, util::millis now, util::millis& retry_after_ms) noexcept;

private:
    double tokens_ = -1;  ///< -1: not started; a new bucket starts full
    util::millis last_ = 0;
};

}  // namespace cc::keys
