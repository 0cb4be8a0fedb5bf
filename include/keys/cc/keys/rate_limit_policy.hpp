#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "cc/keys/key_registry.hpp"
#include "cc/keys/rate_limiter.hpp"
#include "cc/util/clock.hpp"

namespace cc::keys {

/// @brief The per-key rate limit of SPEC §5: each plan's token bucket rate and burst,
/// applied to a key's own bucket. A plan without an entry is not limited.
class rate_limit_policy {
public:
    explicit rate_limit_policy(std::map<std::string, rate_limit> per_plan) : per_plan_(std::move(per_plan)) {}

    /// @brief Takes one token of the key's bucket: nullopt when the request may go on,
    /// otherwise the whole seconds (at least 1) after which it can succeed.
    std::optional<int> admit(const std::string& plan, key_usage& usage, util::millis now) const;

    /// @brief Charges `count` more events to the key (after admit took one for the request).
    void charge(const std::string& plan, key_usage& usage, std::size_t count) const;

private:
    std::map<std::string, rate_limit> per_plan_;
};

}  // namespace cc::keys
