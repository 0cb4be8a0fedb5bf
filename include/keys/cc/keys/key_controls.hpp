#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cc/keys/key_registry.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/storage/store.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/failure.hpp"

namespace cc::keys {

/// @brief Where a refused inbound request came from, for the rejection log.
struct refusal_origin {
    const std::string& request_id;
    const std::string& client_ip;
};

/// @brief The key controls of SPEC §7 that sit beside the key lifecycle: allowed IPs,
/// browser exposure, hourly usage, the rejection log and leaked-key revocation.
/// Request-path methods take no lock that requests share (usage is an atomic add; a
/// refusal is queued); storage is written by flush(), off the request path.
class key_controls {
public:
    key_controls(storage::store& store, key_registry& registry, const util::clock& clock);

    /// @brief Rejections kept per domain, and for how long.
    static constexpr int rejections_per_domain = 1'000;
    static constexpr util::millis rejection_retention_ms = 7LL * 24 * 3600 * 1000;
    static constexpr std::int64_t usage_retention_hours = 30 * 24;
    /// @brief Refusals waiting for the next flush beyond this are dropped (and counted), so
    /// a flood of bad requests cannot grow memory.
    static constexpr std::size_t max_pending_rejections = 20'000;

    // ---- request path ----

    /// @brief The refusal of a request a browser sent.
    static util::failure browser_refusal();
    /// @brief The refusal of a request from outside the key's allowed IPs.
    static util::failure ip_refusal(const key_state& key, const std::string& client_ip);
    /// @brief Codes counted as `auth_failed` in usage (the rest of the refusals are `rejected`).
    static bool is_auth_failure(util::error_code code);

    /// @brief Marks a valid key seen in a browser request as exposed, the first time only
    /// (one storage write and one `key.exposed` audit entry per key, ever).
    void note_exposed(const key_lookup& key, const std::string& origin, const std::string& client_ip);

    /// @brief Counts a refusal of a request with this key and queues it for the rejection log.
    void refused(const key_lookup& key, const util::failure& failure, const refusal_origin& from);

    // ---- background ----

    /// @brief Writes the usage counted and the refusals queued since the last call.
    void flush();
    /// @brief Deletes usage older than 30 days and rejections older than 7 days.
    void purge();
    /// @brief Refusals dropped because the queue was full.
    std::uint64_t dropped_rejections() const noexcept { return dropped_.load(std::memory_order_relaxed); }

    // ---- admin ----

    /// @brief Replaces a key's allowed IPs (already normalized); audited when it changes.
    util::outcome<key_view> set_allowed_ips(const std::string& id, const std::vector<std::string>& normalized,
                                            const actor& who);

    /// @brief A leak report's verdict on one token: true when it is a key of ours (revoked
    /// now if it was active, audited with reason `leaked` and the url).
    bool report_leak(const std::string& token, const std::string& url, const std::string& source, const actor& who);

private:
    storage::store& store_;
    key_registry& registry_;
    const util::clock& clock_;

    std::mutex pending_mutex_;
    std::vector<storage::rejection_record> pending_;
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace cc::keys
