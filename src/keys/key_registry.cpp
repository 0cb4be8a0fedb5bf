#include "cc/keys/key_registry.hpp"

#include <algorithm>

namespace cc::keys {

util::sha256_digest key_registry::digest_of(const std::string& raw_hash) {
    util::sha256_digest d{};
    std::memcpy(d.data(), raw_hash.data(), std::min(raw_hash.size(), d.size()));
    return d;
}

void key_registry::replace_all(const std::vector<storage::domain_record>& domains,
                               const std::vector<storage::key_record>& keys) {
    std::unique_lock lock(mutex_);
    auto previous = std::move(by_hash_);
    by_hash_.clear();
    hash_by_id_.clear();
    plan_by_domain_.clear();
    for (const auto& d : domains) plan_by_domain_[d.domain] = d.plan;
    for (const auto& k : keys) {
        put_key_locked(k);
        // Keep the bucket and any last-used time not yet written.
        if (const auto old = previous.find(digest_of(k.hash)); old != previous.end()) {
            by_hash_[old->first].usage = old->second.usage;
        }
    }
}

void key_registry::put_domain(const storage::domain_record& domain) {
    std::unique_lock lock(mutex_);
    plan_by_domain_[domain.domain] = domain.plan;
}

void key_registry::remove_domain(const std::string& domain) {
    std::unique_lock lock(mutex_);
    plan_by_domain_.erase(domain);
}

void key_registry::put_key(const storage::key_record& key) {
    std::unique_lock lock(mutex_);
    put_key_locked(key);
}

void key_registry::put_key_locked(const storage::key_record& key) {
    auto state = std::make_shared<key_state>();
    state->id = key.id;
    state->domain = key.domain;
    state->prefix = key.prefix;
    state->revoked = key.status == "revoked";
    state->expires_at = key.expires_at;
    state->allowed_ips = ip_allowlist::from_entries(key.allowed_ips);
    state->exposed = key.exposed_at.has_value();
    const auto digest = digest_of(key.hash);
    auto& s = by_hash_[digest];
    s.state = std::move(state);
    if (!s.usage) s.usage = std::make_shared<key_usage>();
    hash_by_id_[key.id] = digest;
}

void key_registry::remove_key(const std::string& id) {
    std::unique_lock lock(mutex_);
    if (const auto it = hash_by_id_.find(id); it != hash_by_id_.end()) {
        by_hash_.erase(it->second);
        hash_by_id_.erase(it);
    }
}

std::optional<key_lookup> key_registry::find(const util::sha256_digest& hash) const {
    std::shared_lock lock(mutex_);
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) return std::nullopt;
    key_lookup found{it->second.state, it->second.usage, {}};
    if (const auto plan = plan_by_domain_.find(it->second.state->domain); plan != plan_by_domain_.end()) {
        found.plan = plan->second;
    }
    return found;
}

std::shared_ptr<key_usage> key_registry::find_by_id(const std::string& id) const {
    std::shared_lock lock(mutex_);
    const auto it = hash_by_id_.find(id);
    return it == hash_by_id_.end() ? nullptr : by_hash_.at(it->second).usage;
}

bool key_registry::has_domain(const std::string& host) const {
    std::shared_lock lock(mutex_);
    return plan_by_domain_.contains(host);
}

void key_registry::touch(key_usage& usage, util::millis at, const std::string& ip) {
    std::lock_guard lock(usage.mutex);
    if (at >= usage.last_used_at) {
        usage.last_used_at = at;
        usage.last_used_ip = ip;
        usage.dirty = true;
    }
}

std::vector<storage::last_used_update> key_registry::take_last_used() {
    std::vector<storage::last_used_update> updates;
    std::shared_lock lock(mutex_);
    for (const auto& [id, digest] : hash_by_id_) {
        auto& u = *by_hash_.at(digest).usage;
        std::lock_guard usage_lock(u.mutex);
        if (u.dirty) {
            updates.push_back({id, u.last_used_at, u.last_used_ip});
            u.dirty = false;
        }
    }
    return updates;
}

std::vector<storage::usage_delta> key_registry::take_usage() {
    std::vector<storage::usage_delta> deltas;
    std::vector<usage_counts> counts;
    std::shared_lock lock(mutex_);
    for (const auto& [id, digest] : hash_by_id_) {
        counts.clear();
        by_hash_.at(digest).usage->counters.drain(counts);
        for (const auto& c : counts) {
            deltas.push_back({id, c.hour, c.counts[0], c.counts[1], c.counts[2], c.counts[3]});
        }
    }
    return deltas;
}

std::size_t key_registry::key_count() const {
    std::shared_lock lock(mutex_);
    return by_hash_.size();
}

}  // namespace cc::keys
