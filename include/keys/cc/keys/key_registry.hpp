#pragma once
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <boost/static_string/static_string.hpp>

#include "cc/keys/ip_allowlist.hpp"
#include "cc/keys/rate_limiter.hpp"
#include "cc/keys/usage_counter.hpp"
#include "cc/storage/records.hpp"
#include "cc/util/crypto.hpp"

namespace cc::keys {

/// @brief What the hot path needs to know of a key; replaced whole on every change.
struct key_state {
    /// @brief Held inline (ids are `key_` + 20 characters): a million keys must not cost
    /// a million small heap blocks.
    boost::static_string<32> id;
    bool revoked = false;
    bool exposed = false;  ///< already marked as seen in a browser request
    /// @brief Shared by every key of the domain (one copy of the name per domain).
    std::shared_ptr<const std::string> domain;
    std::string prefix;
    std::optional<util::millis> expires_at;
    ip_allowlist allowed_ips;  ///< empty: any address (SPEC §7)
};

/// @brief Per-key usage: the rate-limit bucket and the last-used time, written back
/// in coalesced batches rather than once per request. Made on a key's first use, so
/// a million keys that are never used cost nothing here.
struct key_usage {
    key_usage(std::string id, const util::sha256_digest& hash) : key_id(std::move(id)), key_hash(hash) {}

    const std::string key_id;
    const util::sha256_digest key_hash;
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
    struct index;

public:
    key_registry();
    ~key_registry();

    /// @brief A whole new index, filled without holding the registry's lock (a reload of
    /// a million keys must not stall requests), then swapped in by install().
    class replacement {
    public:
        /// @brief `expected_keys` sizes the index up front (no rehash while a million load).
        explicit replacement(const std::vector<storage::domain_record>& domains, std::size_t expected_keys = 0);
        replacement(replacement&&) noexcept;
        ~replacement();
        void add(const storage::key_record& key);

    private:
        friend class key_registry;
        std::unique_ptr<index> next_;
    };

    /// @brief Makes `next` the index; usage of the keys that are still there is kept.
    void install(replacement&& next);

    /// @brief Replaces everything with `domains` and `keys` (install() of a replacement).
    void replace_all(const std::vector<storage::domain_record>& domains,
                     const std::vector<storage::key_record>& keys);

    void put_domain(const storage::domain_record& domain);
    void remove_domain(const std::string& domain);
    void put_key(const storage::key_record& key);
    void remove_key(const storage::key_record& key);

    /// @brief The key whose SHA-256 is `hash`, with its domain's plan and its usage record.
    std::optional<key_lookup> find(const util::sha256_digest& hash);

    /// @brief True when `host` is a registered domain.
    bool has_domain(const std::string& host) const;

    /// @brief Records a successful use; written to storage by the next flush.
    static void touch(key_usage& usage, util::millis at, const std::string& ip);

    /// @brief Takes the last-used times recorded since the previous call.
    std::vector<storage::last_used_update> take_last_used();
    /// @brief Puts back last-used times whose write failed, for the next flush.
    void restore_last_used(const std::vector<storage::last_used_update>& updates);

    /// @brief Takes the hourly usage counted since the previous call.
    std::vector<storage::usage_delta> take_usage();
    /// @brief Adds back hourly counts whose write failed, for the next flush.
    void restore_usage(const std::vector<storage::usage_delta>& deltas);

    std::size_t key_count() const;

private:
    /// @brief Drops the usage records of keys no longer indexed. Exclusive lock held.
    void prune_in_use_locked();

    mutable std::shared_mutex mutex_;
    std::unique_ptr<index> index_;
    /// @brief Every usage record made so far: the flushes walk these, not every key.
    /// Guarded by mutex_ (appended under the exclusive lock); records of removed keys
    /// are dropped once nothing is left to write.
    std::vector<std::shared_ptr<key_usage>> in_use_;
    std::atomic<bool> removed_since_prune_{false};  ///< a key left: prune in_use_ before the next flush
};

}  // namespace cc::keys
