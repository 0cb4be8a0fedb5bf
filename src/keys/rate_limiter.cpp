#include "cc/keys/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace cc::keys {

bool token_bucket::try_take(double per_second, double burst, util::millis now, util::millis& retry_after_ms) noexcept {
    if (!started_) {
        started_ = true;
        tokens_ = burst;
        last_ = now;
    } else if (now > last_) {
        tokens_ = std::min(burst, tokens_ + static_cast<double>(now - last_) * per_second / 1000.0);
        last_ = now;
    }
    if (tokens_ >= 1.0) {
        tokens_ -= 1.0;
        return true;
    }
    retry_after_ms = static_cast<util::millis>(std::ceil((1.0 - tokens_) * 1000.0 / per_second));
    return false;
}

void token_bucket::charge(double count) noexcept {
    tokens_ -= count;
}

}  // namespace cc::keys
