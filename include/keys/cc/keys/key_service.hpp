#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cc/keys/key_registry.hpp"
#include "cc/storage/store.hpp"
#include "cc/util/clock.hpp"
#include "cc/util/failure.hpp"
#include "cc/util/random.hpp"

namespace cc::keys {

/// @brief Who asked for an admin change, for the audit trail.
struct actor {
    std::string id;  ///< a non-secret admin token id, or "cli"
    std::optional<std::string> client_ip;
};

/// @brief A domain with its plan arithmetic.
struct domain_view {
    storage::domain_record domain;
    std::optional<int> key_limit;  ///< nullopt: unlimited
    long long active_keys = 0;
};

/// @brief A key as shown to admins: its stored record and its derived status.
struct key_view {
    storage::key_record key;
    std::string status;  ///< active, revoked or expired
};

/// @brief A key just created (or rolled): the full value, shown this once.
struct created_key {
    key_view key;
    std::string value;
    std::optional<key_view> rolled_from;  ///< a roll's old key, with its new expires_at
};

/// @brief One page of domains in name order; `next` is the last name shown when more follow.
struct domain_page {
    std::vector<domain_view> domains;
    std::optional<std::string> next;
};

/// @brief A domain and its keys, newest first.
struct key_listing {
    domain_view domain;
    std::vector<key_view> keys;
};

/// @brief Domains, plans and the key lifecycle. Every change runs in one storage
/// transaction (so plan limits hold even against another process) and then updates
/// the in-memory index before returning. Shared by the admin API and the CLI.
class key_service {
public:
    key_service(storage::store& store, key_registry& registry, const util::clock& clock,
                util::random_source& random);

    util::outcome<domain_view> put_domain(const std::string& domain, const std::string& plan, const actor& who);
    util::outcome<std::vector<domain_view>> list_domains();
    /// @brief Up to `limit` domains after `after` (a previous page's `next`; empty: from the start).
    util::outcome<domain_page> list_domains(int limit, const std::string& after);
    util::outcome<domain_view> get_domain(const std::string& domain);
    util::outcome<util::done> delete_domain(const std::string& domain, const actor& who);

    util::outcome<created_key> create_key(const std::string& domain, const std::string& name,
                                          std::optional<util::millis> expires_at, const actor& who,
                                          const std::vector<std::string>& allowed_ips = {});
    util::outcome<key_listing> list_keys(const std::string& domain);
    util::outcome<key_view> get_key(const std::string& id);
    util::outcome<key_view> rename_key(const std::string& id, const std::string& name, const actor& who);
    util::outcome<key_view> revoke_key(const std::string& id, const actor& who);
    util::outcome<key_view> restore_key(const std::string& id, const actor& who);
    util::outcome<util::done> delete_key(const std::string& id, const actor& who);
    /// @brief Issues a new key for the same domain and name; the old one expires after `grace_ms`.
    /// Only an active key without a successor can be rolled (key_already_rolled, key_not_active),
    /// so a roll never leaves more than one extra key, and that one only for the grace.
    util::outcome<created_key> roll_key(const std::string& id, util::millis grace_ms, const actor& who);

    /// @brief Reloads the in-memory index from storage.
    void reload();
    /// @brief Reloads when another process changed domains or keys; cheap when nothing did.
    void reload_if_changed();

    /// @brief The status shown for a key at `now`: active, revoked or expired.
    static std::string status_at(const storage::key_record& key, util::millis now);

private:
    domain_view view_of(storage::admin_transaction& tx, const storage::domain_record& d);
    key_view view_of(const storage::key_record& key) const;
    util::outcome<key_view> change_key(const std::string& id, const actor& who, const char* action,
                                       const std::function<std::optional<util::failure>(storage::admin_transaction&,
                                                                                       storage::key_record&)>& change);
    storage::audit_record audit(const actor& who, std::string action, std::optional<std::string> domain,
                                std::optional<std::string> key_id, std::optional<std::string> details) const;

    storage::store& store_;
    key_registry& registry_;
    const util::clock& clock_;
    util::random_source& random_;
    std::mutex reload_mutex_;
    std::int64_t seen_version_ = -1;
};

}  // namespace cc::keys
