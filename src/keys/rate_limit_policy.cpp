#include "cc/keys/rate_limit_policy.hpp"

#include <algorithm>
#include <mutex>

namespace cc::keys {

std::optional<int> rate_limit_policy::admit(const std::string& plan, key_usage& usage, util::millis now) const {
    const auto limit = per_plan_.find(plan);
    if (limit == per_plan_.end()) return std::nullopt;
    util::millis retry_ms = 0;
    bool allowed;
    {
        std::lock_guard lock(usage.mutex);
        allowed = usage.bucket.try_take(limit->second.per_second, limit->second.burst, now, retry_ms);
    }
    if (allowed) return std::nullopt;
    return static_cast<int>(std::max<util::millis>(1, (retry_ms + 999) / 1000));
}

void rate_limit_policy::charge(const std::string& plan, key_usage& usage, std::size_t count) const {
    if (count == 0 || !per_plan_.contains(plan)) return;
    std::lock_guard lock(usage.mutex);
    usage.bucket.charge(static_cast<double>(count));
}

}  // namespace cc::keys
