#include "cc/keys/key_registry.hpp"

#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace cc::keys {

namespace {

struct digest_hash {
    std::size_t operator()(const util::sha256_digest& d) const noexcept {
        std::size_t h;  // a SHA-256 is uniform: its first bytes are a fine hash
        std::memcpy(&h, d.data(), sizeof h);
        return h;
    }
};

util::sha256_digest digest_of(const storage::key_record& key) {
    util::sha256_digest d{};
    if (key.hash.size() != d.size()) {
        throw std::invalid_argument("key " + key.id + " has a stored hash of " + std::to_string(key.hash.size()) +
                                    " bytes, not a SHA-256");
    }
    std::memcpy(d.data(), key.hash.data(), d.size());
    return d;
}

std::shared_ptr<const key_state> state_of(const storage::key_record& key, std::shared_ptr<const std::string> domain) {
    auto state = std::make_shared<key_state>();
    if (key.id.size() > state->id.max_size()) throw std::invalid_argument("key id too long: " + key.id);
    state->id = key.id;
    state->domain = std::move(domain);
    state->prefix = key.prefix;
    state->revoked = key.status == "revoked";
    state->expires_at = key.expires_at;
    state->allowed_ips = ip_allowlist::from_entries(key.allowed_ips);
    state->exposed = key.exposed_at.has_value();
    return state;
}

}  // namespace

/// @brief Keys by hash, and each domain's plan. Admin changes know a key's hash (its
/// record carries it), so no second index by id is kept: a million keys cost one entry each.
struct key_registry::index {
    struct entry {
        std::shared_ptr<const key_state> state;
        std::shared_ptr<key_usage> usage;  ///< null until the key is first used
    };

    struct domain_entry {
        std::string plan;  ///< empty while only keys name the domain
        std::shared_ptr<const std::string> name;  ///< shared by the domain's keys
    };

    std::unordered_map<util::sha256_digest, entry, digest_hash> by_hash;
    std::unordered_map<std::string, domain_entry> domains;

    domain_entry& domain(const std::string& name) {
        auto& d = domains[name];
        if (!d.name) d.name = std::make_shared<const std::string>(name);
        return d;
    }

    void put(const storage::key_record& key) { by_hash[digest_of(key)].state = state_of(key, domain(key.domain).name); }
};

key_registry::key_registry() : index_(std::make_unique<index>()) {}
key_registry::~key_registry() = default;

key_registry::replacement::replacement(const std::vector<storage::domain_record>& domains,
                                       std::size_t expected_keys)
    : next_(std::make_unique<index>()) {
    next_->by_hash.reserve(expected_keys);
    next_->domains.reserve(domains.size());
    for (const auto& d : domains) next_->domain(d.domain).plan = d.plan;
}
key_registry::replacement::replacement(replacement&&) noexcept = default;
key_registry::replacement::~replacement() = default;

void key_registry::replacement::add(const storage::key_record& key) { next_->put(key); }

void key_registry::install(replacement&& next) {
    std::unique_lock lock(mutex_);
    // Keep the bucket and any last-used time not yet written of every key still there.
    auto& keys = next.next_->by_hash;
    for (const auto& usage : in_use_) {
        if (const auto it = keys.find(usage->key_hash); it != keys.end()) it->second.usage = usage;
    }
    index_.swap(next.next_);  // the old index is freed by `next`, outside the lock
    removed_since_prune_.store(true);
}

void key_registry::replace_all(const std::vector<storage::domain_record>& domains,
                               const std::vector<storage::key_record>& keys) {
    replacement next(domains);
    for (const auto& k : keys) next.add(k);
    install(std::move(next));
}

void key_registry::put_domain(const storage::domain_record& domain) {
    std::unique_lock lock(mutex_);
    index_->domain(domain.domain).plan = domain.plan;
}

void key_registry::remove_domain(const std::string& domain) {
    std::unique_lock lock(mutex_);
    index_->domains.erase(domain);
}

void key_registry::put_key(const storage::key_record& key) {
    std::unique_lock lock(mutex_);
    index_->put(key);
}

void key_registry::remove_key(const storage::key_record& key) {
    std::unique_lock lock(mutex_);
    index_->by_hash.erase(digest_of(key));
    removed_since_prune_.store(true);
}

std::optional<key_lookup> key_registry::find(const util::sha256_digest& hash) {
    const auto lookup_of = [this](const index::entry& e) {
        key_lookup found{e.state, e.usage, {}};
        const auto& domains = index_->domains;
        if (const auto d = domains.find(*e.state->domain); d != domains.end()) found.plan = d->second.plan;
        return found;
    };
    {
        std::shared_lock lock(mutex_);
        const auto it = index_->by_hash.find(hash);
        if (it == index_->by_hash.end()) return std::nullopt;
        if (it->second.usage) return lookup_of(it->second);
    }
    // The key's first use: make its usage record (once per key, so the lock is rare).
    std::unique_lock lock(mutex_);
    const auto it = index_->by_hash.find(hash);
    if (it == index_->by_hash.end()) return std::nullopt;
    auto& e = it->second;
    if (!e.usage) {
        e.usage = std::make_shared<key_usage>(std::string(e.state->id), hash);
        in_use_.push_back(e.usage);
    }
    return lookup_of(e);
}

bool key_registry::has_domain(const std::string& host) const {
    std::shared_lock lock(mutex_);
    const auto& domains = index_->domains;
    const auto d = domains.find(host);
    return d != domains.end() && !d->second.plan.empty();
}

void key_registry::touch(key_usage& usage, util::millis at, const std::string& ip) {
    std::lock_guard lock(usage.mutex);
    if (at >= usage.last_used_at) {
        usage.last_used_at = at;
        usage.last_used_ip = ip;
        usage.dirty = true;
    }
}

void key_registry::prune_in_use_locked() {
    const auto& keys = index_->by_hash;
    std::erase_if(in_use_, [&keys](const std::shared_ptr<key_usage>& u) {
        const auto it = keys.find(u->key_hash);
        return it == keys.end() || it->second.usage != u;
    });
}

std::vector<storage::last_used_update> key_registry::take_last_used() {
    if (removed_since_prune_.exchange(false)) {
        std::unique_lock lock(mutex_);
        prune_in_use_locked();
    }
    std::vector<storage::last_used_update> updates;
    std::shared_lock lock(mutex_);
    for (const auto& u : in_use_) {
        std::lock_guard usage_lock(u->mutex);
        if (u->dirty) {
            updates.push_back({u->key_id, u->last_used_at, u->last_used_ip});
            u->dirty = false;
        }
    }
    return updates;
}

void key_registry::restore_last_used(const std::vector<storage::last_used_update>& updates) {
    std::unordered_map<std::string_view, const storage::last_used_update*> by_id;
    for (const auto& u : updates) by_id.emplace(u.key_id, &u);
    std::shared_lock lock(mutex_);
    for (const auto& usage : in_use_) {
        if (const auto it = by_id.find(usage->key_id); it != by_id.end()) touch(*usage, it->second->at, it->second->ip);
    }
}

std::vector<storage::usage_delta> key_registry::take_usage() {
    std::vector<storage::usage_delta> deltas;
    std::vector<usage_counts> counts;
    std::shared_lock lock(mutex_);
    for (const auto& u : in_use_) {
        counts.clear();
        u->counters.drain(counts);
        for (const auto& c : counts) {
            deltas.push_back({u->key_id, c.hour, c.counts[0], c.counts[1], c.counts[2], c.counts[3]});
        }
    }
    return deltas;
}

void key_registry::restore_usage(const std::vector<storage::usage_delta>& deltas) {
    std::unordered_multimap<std::string_view, const storage::usage_delta*> by_id;
    for (const auto& d : deltas) by_id.emplace(d.key_id, &d);
    std::shared_lock lock(mutex_);
    for (const auto& usage : in_use_) {
        const auto [first, last] = by_id.equal_range(usage->key_id);
        for (auto it = first; it != last; ++it) {
            const auto& d = *it->second;
            usage->counters.restore({d.hour, {d.accepted, d.duplicate, d.rejected, d.auth_failed}});
        }
    }
}

std::size_t key_registry::key_count() const {
    std::shared_lock lock(mutex_);
    return index_->by_hash.size();
}

}  // namespace cc::keys
