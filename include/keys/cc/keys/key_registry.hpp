#pragma once
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cc/keys/ip_allowlist.hpp"
#include "cc/keys/rate_limiter.hpp"
#include "cc/keys/usage_counter.hpp"
#include "cc/storage/records.hpp"
#include "cc/util/crypto.hpp"

namespace cc::keys {

/// @brief What the hot path needs to know of a key; replaced whole on every change.
struct key_state {
    std::string id;
    std::string domain;
    std::string prefix;
    bool revoked = false;
    std::optional<util::millis> expires_at;
    ip_allowlist allowed_ips;  ///< empty: any address (SPEC §7)
    bool exposed = false;      ///< already marked as seen in a browser request
};

/// @brief Per-key usage: the rate-limit bucket and the last-used time, written back
/// in coalesced batches rather than once per request.
struct key_usage {
    std::mutex mutex;
    token_bucket bucket;
    util::millis last_used_at = 0;
    std::string last_used_ip;
    bool dirty = false;
    usage_counter counters;  ///< hourly counts, lock-free on the request path
    std::atomic<bool> exposure_reported{false};  ///< a browser sighting is being recorded
};

/// @brief The result of looking a key up on the request path.
struct key_lookup {
    std::shared_ptr<const key_state> state;
    std::shared_ptr<key_usage> usage;
    std::string plan;  ///< the domain's plan
};

/// @brief The in-memory index of domains and keys that serves authentication without
/// touching storage. Loaded at start, updated in the same step as every admin change,
/// so a revoke or delete holds for the very next request. Thread-safe.
class key_registry {
public:
    /// @brief Replaces everything with what storage holds; usage of surviving keys is kept.
    void replace_all(const std::vector<storage::domain_record>& domains,
                     const std::vector<storage::key_record>& keys);

    void put_domain(const storage::domain_record& domain);
    void remove_domain(const std::string& domain);
    void put_key(const storage::key_record& key);
    void remove_key(const std::string& id);

    /// @brief The key whose SHA-256 is `hash`, with its domain's plan.
    std::optional<key_lookup> find(const util::sha256_digest& hash) const;

    /// @brief The usage record of the key with this id, if it is still indexed.
    std::shared_ptr<key_usage> find_by_id(const std::string& id) const;

    /// @brief True when `host` is a registered domain.
    bool has_domain(const std::string& host) const;

    /// @brief Records a successful use; written to storage by the next flush.
    static void touch(key_usage& usage, util::millis at, const std::string& ip);

    /// @brief Takes the last-used times recorded since the previous call.
    std::vector<storage::last_used_update> take_last_used();

    /// @brief Takes the hourly usage counted since the previous call.
    std::vector<storage::usage_delta> take_usage();

    std::size_t key_count() const;

private:
    struct digest_hash {
        std::size_t operator()(const util::sha256_digest& d) const noexcept {
            std::size_t h;  // a SHA-256 is uniform: its first bytes are a fine hash
            std::memcpy(&h, d.data(), sizeof h);
            return h;
        }
    };
    struct slot {
        std::shared_ptr<const key_state> state;
        std::shared_ptr<key_usage> usage;
    };

    static util::sha256_digest digest_of(const std::string& raw_hash);
    void put_key_locked(const storage::key_record& key);

    mutable std::shared_mutex mutex_;
    std::unordered_map<util::sha256_digest, slot, digest_hash> by_hash_;
    std::unordered_map<std::string, util::sha256_digest> hash_by_id_;
    std::unordered_map<std::string, std::string> plan_by_domain_;
};

}  // namespace cc::keys
