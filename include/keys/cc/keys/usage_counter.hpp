#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "cc/util/clock.hpp"

namespace cc::keys {

/// @brief What a request with a known key came to.
enum class usage_kind : std::size_t { accepted = 0, duplicate = 1, rejected = 2, auth_failed = 3 };

/// @brief Counts of one key in one hour.
struct usage_counts {
    std::int64_t hour = 0;  ///< hours since the Unix epoch
    std::array<std::int64_t, 4> counts{};  ///< indexed by usage_kind
};

/// @brief Per-key hourly counters on the request path: one relaxed atomic add, no lock,
/// no allocation. Two slots, one per hour parity: a slot is reused only two hours later,
/// and the flusher drains both every second, so an hour's counts never mix with another's.
class usage_counter {
public:
    static constexpr util::millis hour_ms = 3'600'000;

    void add(usage_kind kind, util::millis now, std::int64_t n = 1) noexcept {
        const auto hour = now / hour_ms;
        auto& s = slots_[static_cast<std::size_t>(hour & 1)];
        // Tag first, count second: a drain that sees the count sees this hour's tag.
        if (s.hour.load(std::memory_order_relaxed) != hour) s.hour.store(hour, std::memory_order_release);
        s.counts[static_cast<std::size_t>(kind)].fetch_add(n, std::memory_order_relaxed);
    }

    /// @brief Takes what was counted since the previous drain (at most one entry per slot).
    void drain(std::vector<usage_counts>& out) noexcept {
        for (auto& s : slots_) {
            usage_counts taken;
            bool any = false;
            for (std::size_t k = 0; k < 4; ++k) {
                taken.counts[k] = s.counts[k].exchange(0, std::memory_order_acq_rel);
                any = any || taken.counts[k] != 0;
            }
            if (!any) continue;
            taken.hour = s.hour.load(std::memory_order_acquire);
            out.push_back(taken);
        }
    }

    /// @brief Puts counts back after a failed write, so they are written by the next flush.
    void restore(const usage_counts& c) noexcept {
        auto& s = slots_[static_cast<std::size_t>(c.hour & 1)];
        if (s.hour.load(std::memory_order_acquire) != c.hour) return;  // that hour's slot moved on
        for (std::size_t k = 0; k < 4; ++k) s.counts[k].fetch_add(c.counts[k], std::memory_order_relaxed);
    }

private:
    struct slot {
        std::atomic<std::int64_t> hour{-1};
        std::array<std::atomic<std::int64_t>, 4> counts{};
    };
    std::array<slot, 2> slots_;
};

}  // namespace cc::keys
