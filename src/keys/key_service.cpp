#include "cc/keys/key_service.hpp"

#include <nlohmann/json.hpp>

#include "cc/auth/api_key.hpp"
#include "cc/keys/domain_name.hpp"
#include "cc/keys/plan.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/util/text.hpp"

namespace cc::keys {
namespace {

using util::failure;

failure domain_not_found(const std::string& domain) {
    return {util::error_code::domain_not_found, "Domain '" + domain + "' is not registered.", {}};
}

failure key_not_found() {
    return {util::error_code::key_not_found, "No key has this id.", {}};
}

failure plan_limit_reached(const domain_view& d) {
    return {util::error_code::plan_limit_reached,
            "Domain '" + d.domain.domain + "' is on the " + d.domain.plan + " plan, which allows " +
                std::to_string(d.key_limit.value_or(0)) + " active keys; it has " + std::to_string(d.active_keys) +
                ". Revoke or delete a key, or upgrade the plan.",
            {}};
}

/// @brief The record of a key just generated: active from `now`, no expiry, no limits.
storage::key_record new_active_key(const auth::generated_key& generated, std::string id, std::string domain,
                                   std::string name, util::millis now) {
    storage::key_record key;
    key.id = std::move(id);
    key.domain = std::move(domain);
    key.name = std::move(name);
    key.prefix = generated.prefix;
    key.hash.assign(reinterpret_cast<const char*>(generated.hash.data()), generated.hash.size());
    key.status = "active";
    key.created_at = now;
    return key;
}

std::string trim(const std::string& text) { return std::string(util::trim(text, " \t\r\n")); }

/// @brief A key name: 1-100 characters after trimming.
std::optional<std::string> valid_name(const std::string& name) {
    auto trimmed = trim(name);
    const auto n = util::utf8_length(trimmed);
    if (n < 1 || n > 100) return std::nullopt;
    return trimmed;
}

failure key_already_rolled(const storage::key_record& key) {
    return {util::error_code::key_already_rolled,
            "Key " + key.prefix + " was already rolled; its successor is " + key.rolled_to.value_or("") +
                ". Roll the successor instead.",
            {}};
}

failure key_not_active(const storage::key_record& key, const std::string& status) {
    return {util::error_code::key_not_active, "Key " + key.prefix + " is " + status + "; only an active key can be rolled.", {}};
}

std::string count_of(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

failure invalid_name() {
    return util::validation_failure({{"name", "must be 1-100 characters after trimming"}});
}

}  // namespace

key_service::key_service(storage::store& store, key_registry& registry, const util::clock& clock,
                         util::random_source& random)
    : store_(store), registry_(registry), clock_(clock), random_(random) {}

std::string key_service::status_at(const storage::key_record& key, util::millis now) {
    if (key.status == "revoked") return "revoked";
    if (key.expires_at && *key.expires_at <= now) return "expired";
    return "active";
}

domain_view key_service::view_of(storage::admin_transaction& tx, const storage::domain_record& d) {
    return {d, key_limit(d.plan), tx.count_active_keys(d.domain, clock_.now_ms())};
}

key_view key_service::view_of(const storage::key_record& key) const {
    return {key, status_at(key, clock_.now_ms())};
}

storage::audit_record key_service::audit(const actor& who, std::string action, std::optional<std::string> domain,
                                         std::optional<std::string> key_id,
                                         std::optional<std::string> details) const {
    storage::audit_record r;
    r.at = clock_.now_ms();
    r.actor = who.id;
    r.client_ip = who.client_ip;
    r.action = std::move(action);
    r.domain = std::move(domain);
    r.key_id = std::move(key_id);
    r.details = std::move(details);
    return r;
}

util::outcome<domain_view> key_service::put_domain(const std::string& domain, const std::string& plan,
                                                   const actor& who) {
    std::vector<util::field_problem> problems;
    const auto name = normalize_domain(domain);
    if (!name) problems.push_back({"domain", "must be a lower-case host name in punycode form, 1-253 characters"});
    if (!is_plan(plan)) problems.push_back({"plan", "must be one of pulse, signal, clarity, command"});
    if (!problems.empty()) return util::validation_failure(std::move(problems));

    auto tx = store_.begin_admin();
    const auto existing = tx->find_domain(*name);
    storage::domain_record record{*name, plan, existing ? existing->created_at : clock_.now_ms()};
    if (!existing) {
        tx->upsert_domain(record);
        tx->append_audit(audit(who, "domain.created", *name, std::nullopt, nlohmann::json{{"plan", plan}}.dump()));
    } else if (existing->plan != plan) {
        tx->upsert_domain(record);
        tx->append_audit(audit(who, "domain.plan_changed", *name, std::nullopt,
                               nlohmann::json{{"from", existing->plan}, {"to", plan}}.dump()));
    }
    auto view = view_of(*tx, record);
    tx->commit();
    registry_.put_domain(record);
    return view;
}

util::outcome<std::vector<domain_view>> key_service::list_domains() {
    auto tx = store_.begin_admin(false);
    std::vector<domain_view> out;
    for (const auto& d : tx->list_domains()) out.push_back(view_of(*tx, d));
    return out;
}

util::outcome<domain_page> key_service::list_domains(int limit, const std::string& after) {
    auto tx = store_.begin_admin(false);
    // One row more than asked tells whether a next page exists.
    auto rows = tx->list_domains_after(after, limit + 1);
    domain_page page;
    if (rows.size() > static_cast<std::size_t>(limit)) {
        rows.resize(static_cast<std::size_t>(limit));
        page.next = rows.back().domain;
    }
    for (const auto& d : rows) page.domains.push_back(view_of(*tx, d));
    return page;
}

util::outcome<domain_view> key_service::get_domain(const std::string& domain) {
    const auto name = normalize_domain(domain);
    if (!name) return domain_not_found(domain);
    auto tx = store_.begin_admin(false);
    const auto found = tx->find_domain(*name);
    if (!found) return domain_not_found(*name);
    return view_of(*tx, *found);
}

util::outcome<util::done> key_service::delete_domain(const std::string& domain, const actor& who) {
    const auto name = normalize_domain(domain);
    if (!name) return domain_not_found(domain);
    auto tx = store_.begin_admin();
    if (!tx->find_domain(*name)) return domain_not_found(*name);
    if (const auto n = tx->count_keys(*name); n > 0) {
        return failure{util::error_code::domain_has_keys,
                       "Domain '" + *name + "' still has " + count_of(n, "key", "keys") +
                           " (revoked ones included); delete " + (n == 1 ? "it" : "them") + " first.",
                       {}};
    }
    tx->delete_domain(*name);
    tx->append_audit(audit(who, "domain.deleted", *name, std::nullopt, std::nullopt));
    tx->commit();
    registry_.remove_domain(*name);
    return util::done{};
}

util::outcome<created_key> key_service::create_key(const std::string& domain, const std::string& name,
                                                   std::optional<util::millis> expires_at, const actor& who,
                                                   const std::vector<std::string>& allowed_ips) {
    std::vector<util::field_problem> problems;
    const auto domain_name = normalize_domain(domain);
    if (!domain_name) problems.push_back({"domain", "must be a registered domain name"});
    const auto key_name = valid_name(name);
    if (!key_name) problems.push_back({"name", "must be 1-100 characters after trimming"});
    const auto now = clock_.now_ms();
    if (expires_at && *expires_at <= now) problems.push_back({"expires_at", "must be in the future"});
    if (!problems.empty()) return util::validation_failure(std::move(problems));

    auto tx = store_.begin_admin();
    const auto d = tx->find_domain(*domain_name);
    if (!d) return domain_not_found(*domain_name);
    const auto view = view_of(*tx, *d);
    if (!may_add_key(d->plan, view.active_keys)) return plan_limit_reached(view);

    const auto generated = auth::generate_api_key(random_);
    auto key = new_active_key(generated, auth::generate_key_id(random_), *domain_name, *key_name, now);
    key.expires_at = expires_at;
    key.allowed_ips = allowed_ips;
    tx->insert_key(key);
    nlohmann::json created = {{"name", key.name}, {"prefix", key.prefix}};
    if (!allowed_ips.empty()) {
        store_.set_allowed_ips(*tx, key.id, allowed_ips);  // same transaction: never a key without its limits
        created["allowed_ips"] = allowed_ips;
    }
    tx->append_audit(audit(who, "key.created", key.domain, key.id, created.dump()));
    tx->commit();
    registry_.put_key(key);
    return created_key{view_of(key), generated.value, std::nullopt};
}

util::outcome<key_listing> key_service::list_keys(const std::string& domain) {
    const auto name = normalize_domain(domain);
    if (!name) return domain_not_found(domain);
    auto tx = store_.begin_admin(false);
    const auto d = tx->find_domain(*name);
    if (!d) return domain_not_found(*name);
    key_listing listing{view_of(*tx, *d), {}};
    for (const auto& k : tx->list_keys(*name)) listing.keys.push_back(view_of(k));
    return listing;
}

util::outcome<key_view> key_service::get_key(const std::string& id) {
    auto tx = store_.begin_admin(false);
    const auto key = tx->find_key(id);
    if (!key) return key_not_found();
    return view_of(*key);
}

util::outcome<key_view> key_service::change_key(
    const std::string& id, const actor& who, const char* action,
    const std::function<std::optional<failure>(storage::admin_transaction&, storage::key_record&)>& change) {
    auto tx = store_.begin_admin();
    auto key = tx->find_key(id);
    if (!key) return key_not_found();
    const auto before = *key;
    if (auto refused = change(*tx, *key)) return *refused;
    if (key->name != before.name || key->status != before.status || key->expires_at != before.expires_at ||
        key->rolled_to != before.rolled_to) {
        tx->update_key(*key);
        nlohmann::json details = {{"prefix", key->prefix}};
        if (key->name != before.name) details["name"] = {{"from", before.name}, {"to", key->name}};
        tx->append_audit(audit(who, action, key->domain, key->id, details.dump()));
        tx->commit();
        registry_.put_key(*key);
    }
    return view_of(*key);
}

util::outcome<key_view> key_service::rename_key(const std::string& id, const std::string& name, const actor& who) {
    const auto new_name = valid_name(name);
    if (!new_name) return invalid_name();
    return change_key(id, who, "key.renamed", [&](storage::admin_transaction&, storage::key_record& key) {
        key.name = *new_name;
        return std::optional<failure>{};
    });
}

util::outcome<key_view> key_service::revoke_key(const std::string& id, const actor& who) {
    return change_key(id, who, "key.revoked", [&](storage::admin_transaction&, storage::key_record& key) {
        if (key.status != "revoked") {
            key.status = "revoked";
            key.revoked_at = clock_.now_ms();
        }
        return std::optional<failure>{};
    });
}

util::outcome<key_view> key_service::restore_key(const std::string& id, const actor& who) {
    return change_key(id, who, "key.restored", [&](storage::admin_transaction& tx, storage::key_record& key) {
        if (key.status != "revoked") return std::optional<failure>{};
        const auto d = tx.find_domain(key.domain);
        if (!d) return std::optional<failure>{domain_not_found(key.domain)};
        const auto view = view_of(tx, *d);
        // A restored key counts again only if it is not past its expiry.
        const bool will_count = !key.expires_at || *key.expires_at > clock_.now_ms();
        if (will_count && !may_add_key(d->plan, view.active_keys)) {
            return std::optional<failure>{plan_limit_reached(view)};
        }
        key.status = "active";
        key.revoked_at.reset();
        return std::optional<failure>{};
    });
}

util::outcome<util::done> key_service::delete_key(const std::string& id, const actor& who) {
    auto tx = store_.begin_admin();
    const auto key = tx->find_key(id);
    if (!key) return key_not_found();
    tx->delete_key(id);
    // A key whose successor is gone may be rolled again (it is still on its way out).
    std::vector<storage::key_record> predecessors;
    for (auto& k : tx->list_keys(key->domain)) {
        if (k.rolled_to == id) {
            k.rolled_to.reset();
            tx->update_key(k);
            predecessors.push_back(std::move(k));
        }
    }
    tx->append_audit(audit(who, "key.deleted", key->domain, key->id,
                           nlohmann::json{{"name", key->name}, {"prefix", key->prefix}}.dump()));
    tx->commit();
    registry_.remove_key(*key);
    for (const auto& k : predecessors) registry_.put_key(k);
    return util::done{};
}

util::outcome<created_key> key_service::roll_key(const std::string& id, util::millis grace_ms, const actor& who) {
    constexpr util::millis max_grace = 30LL * 24 * 3600 * 1000;
    if (grace_ms < 0 || grace_ms > max_grace) {
        return util::validation_failure({{"grace_seconds", "must be between 0 and 2592000 (30 days)"}});
    }
    auto tx = store_.begin_admin();
    auto old = tx->find_key(id);
    if (!old) return key_not_found();
    const auto now = clock_.now_ms();
    // Rolling is allowed at the plan limit because the old key is on its way out; that
    // holds only once per key, or repeated rolls would mint keys past the limit.
    if (const auto status = status_at(*old, now); status != "active") return key_not_active(*old, status);
    if (old->rolled_to) return key_already_rolled(*old);
    const auto generated = auth::generate_api_key(random_);
    auto fresh = new_active_key(generated, auth::generate_key_id(random_), old->domain, old->name, now);
    const auto old_expiry = now + grace_ms;
    if (!old->expires_at || *old->expires_at > old_expiry) old->expires_at = old_expiry;
    old->rolled_to = fresh.id;
    tx->update_key(*old);
    tx->insert_key(fresh);
    tx->append_audit(audit(who, "key.rolled", old->domain, old->id,
                           nlohmann::json{{"new_key_id", fresh.id},
                                          {"prefix", old->prefix},
                                          {"new_prefix", fresh.prefix},
                                          {"grace_seconds", grace_ms / 1000}}
                               .dump()));
    tx->commit();
    registry_.put_key(*old);
    registry_.put_key(fresh);
    return created_key{view_of(fresh), generated.value, view_of(*old)};
}

void key_service::reload() {
    std::lock_guard reload_lock(reload_mutex_);
    auto tx = store_.begin_admin(false);
    const auto version = tx->registry_version();
    key_registry::replacement next(tx->list_domains(), static_cast<std::size_t>(tx->count_all_keys()));
    tx->for_each_key([&next](const storage::key_record& k) { next.add(k); });
    // Install while the transaction (and its lock) is held, so no admin change slips between.
    registry_.install(std::move(next));
    seen_version_ = version;
    ops::global_metrics().keys_loaded = static_cast<std::int64_t>(registry_.key_count());
}

void key_service::reload_if_changed() {
    if (store_.registry_version() != seen_version_) reload();
}

}  // namespace cc::keys
