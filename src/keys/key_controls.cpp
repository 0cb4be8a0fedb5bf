#include "cc/keys/key_controls.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "cc/auth/api_key.hpp"
#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/crypto.hpp"

namespace cc::keys {

key_controls::key_controls(storage::store& store, key_registry& registry, const util::clock& clock)
    : store_(store), registry_(registry), clock_(clock) {}

util::failure key_controls::browser_refusal() {
    return {util::error_code::browser_request_refused,
            "Inbound integration keys are for server-to-server use only: this request came from a web browser "
            "(it carries an Origin or Sec-Fetch-Site header). Send events from your backend, never from "
            "client-side code, and roll any key that was shipped to browsers.",
            {}};
}

util::failure key_controls::ip_refusal(const key_state& key, const std::string& client_ip) {
    return {util::error_code::ip_not_allowed,
            "The API key " + key.prefix + "... may not be used from " + client_ip +
                ": that address is not in the key's allowed IPs.",
            {}};
}

bool key_controls::is_auth_failure(util::error_code code) {
    using util::error_code;
    return code == error_code::revoked_api_key || code == error_code::expired_api_key ||
           code == error_code::domain_mismatch || code == error_code::ip_not_allowed ||
           code == error_code::rate_limited || code == error_code::browser_request_refused;
}

void key_controls::note_exposed(const key_lookup& key, const std::string& origin, const std::string& client_ip) {
    const auto& state = *key.state;
    const auto now = clock_.now_ms();
    // Only a key that works is a leak worth flagging; and only the first sighting writes.
    if (state.revoked || (state.expires_at && *state.expires_at <= now) || state.exposed) return;
    if (key.usage->exposure_reported.exchange(true)) return;
    storage::audit_record audit;
    audit.at = now;
    audit.actor = "inbound";
    audit.client_ip = client_ip;
    audit.action = "key.exposed";
    audit.domain = *state.domain;
    audit.key_id = state.id;
    audit.details = nlohmann::json{{"prefix", state.prefix}, {"origin", origin}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    try {
        // Written before the answer, so the key object shows it once the 403 is seen; it
        // happens once per key, so it costs nothing on a steady path.
        if (store_.mark_exposed(state.id, now, origin, audit)) {
            ops::log(spdlog::level::warn, "key used from a browser",
                     {{"key_prefix", state.prefix}, {"domain", *state.domain}, {"origin", origin}});
        }
    } catch (const storage::storage_error& e) {
        key.usage->exposure_reported = false;  // try again on the next sighting
        ops::log(spdlog::level::warn, "recording a key exposure failed", {{"error", e.what()}});
    }
}

void key_controls::refused(const key_lookup& key, const util::failure& failure, const refusal_origin& from) {
    const auto now = clock_.now_ms();
    key.usage->counters.add(is_auth_failure(failure.code) ? usage_kind::auth_failed : usage_kind::rejected, now);
    storage::rejection_record r;
    r.at = now;
    r.domain = *key.state->domain;
    r.key_id = key.state->id;
    r.key_prefix = key.state->prefix;
    r.code = std::string(util::to_text(failure.code));
    r.status = util::http_status(failure.code);
    if (!failure.details.empty()) {
        // Field names and problems only: the rules broken, never the values sent.
        auto details = nlohmann::json::array();
        for (const auto& d : failure.details) details.push_back({{"field", d.field}, {"problem", d.problem}});
        r.details = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    r.request_id = from.request_id;
    r.client_ip = from.client_ip;
    std::lock_guard lock(pending_mutex_);
    if (pending_.size() >= max_pending_rejections) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    pending_.push_back(std::move(r));
}

void key_controls::flush() {
    auto usage = registry_.take_usage();
    if (!usage.empty()) {
        try {
            store_.save_usage(usage);
        } catch (const storage::storage_error& e) {
            // Put the counts back, to be added by the next flush.
            registry_.restore_usage(usage);
            ops::log(spdlog::level::warn, "usage flush failed", {{"error", e.what()}});
        }
    }
    std::vector<storage::rejection_record> rows;
    {
        std::lock_guard lock(pending_mutex_);
        rows.swap(pending_);
    }
    if (rows.empty()) return;
    // Storage keeps the newest rejections_per_domain of a domain: under a flood, write no more.
    std::map<std::string, int> kept;
    std::vector<storage::rejection_record> newest;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
        if (++kept[it->domain] <= rejections_per_domain) newest.push_back(std::move(*it));
    }
    rows.assign(std::make_move_iterator(newest.rbegin()), std::make_move_iterator(newest.rend()));
    try {
        store_.insert_rejections(rows, rejections_per_domain);
    } catch (const storage::storage_error& e) {
        std::lock_guard lock(pending_mutex_);
        if (pending_.size() + rows.size() <= max_pending_rejections) {
            pending_.insert(pending_.begin(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
        }
        ops::log(spdlog::level::warn, "rejection log flush failed", {{"error", e.what()}});
    }
}

void key_controls::purge() {
    const auto now = clock_.now_ms();
    try {
        store_.purge_controls(now / usage_counter::hour_ms - usage_retention_hours, now - rejection_retention_ms);
    } catch (const storage::storage_error& e) {
        ops::log(spdlog::level::warn, "usage and rejection purge failed", {{"error", e.what()}});
    }
}

util::outcome<key_view> key_controls::set_allowed_ips(const std::string& id, const std::vector<std::string>& normalized,
                                                      const actor& who) {
    auto tx = store_.begin_admin();
    auto key = tx->find_key(id);
    if (!key) return util::failure{util::error_code::key_not_found, "No key has this id.", {}};
    if (key->allowed_ips != normalized) {
        const auto before = key->allowed_ips;
        store_.set_allowed_ips(*tx, key->id, normalized);
        key->allowed_ips = normalized;
        storage::audit_record audit;
        audit.at = clock_.now_ms();
        audit.actor = who.id;
        audit.client_ip = who.client_ip;
        audit.action = "key.allowed_ips_changed";
        audit.domain = key->domain;
        audit.key_id = key->id;
        audit.details = nlohmann::json{{"prefix", key->prefix}, {"from", before}, {"to", normalized}}.dump();
        tx->append_audit(audit);
        tx->commit();
        // Effective for the very next request: the index is updated before we answer.
        registry_.put_key(*key);
    }
    return key_view{*key, key_service::status_at(*key, clock_.now_ms())};
}

bool key_controls::report_leak(const std::string& token, const std::string& url, const std::string& source,
                               const actor& who) {
    // Not our shape or checksum: not one of our keys, and nothing is looked up.
    if (!auth::is_well_formed_api_key(token)) return false;
    const auto found = registry_.find(util::sha256(token));
    if (!found) return false;
    auto tx = store_.begin_admin();
    auto key = tx->find_key(found->state->id);
    if (!key) return false;  // deleted meanwhile
    if (key->status == "revoked") return true;  // already stopped: nothing to do
    key->status = "revoked";
    key->revoked_at = clock_.now_ms();
    tx->update_key(*key);
    storage::audit_record audit;
    audit.at = *key->revoked_at;
    audit.actor = who.id;
    audit.client_ip = who.client_ip;
    audit.action = "key.revoked";
    audit.domain = key->domain;
    audit.key_id = key->id;
    audit.details = nlohmann::json{{"prefix", key->prefix}, {"reason", "leaked"}, {"url", url}, {"source", source}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    tx->append_audit(audit);
    tx->commit();
    registry_.put_key(*key);
    ops::log(spdlog::level::warn, "leaked key revoked", {{"key_prefix", key->prefix}, {"domain", key->domain}, {"url", url}});
    return true;
}

}  // namespace cc::keys
