#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "cc/api/admin_guard.hpp"
#include "cc/auth/leak_signature.hpp"
#include "cc/web/router.hpp"
#include "cc/keys/key_controls.hpp"

namespace cc::api {

/// @brief POST /__cc/leaks: GitHub secret-scanning partner alerts. Each alert is verified
/// (ECDSA P-256 over the raw body, keys from `leak_report_keys_file`), then every reported
/// token that is one of our keys is revoked at once. Registered only when the keys file is
/// configured, so the route is 404 otherwise.
class leak_api {
public:
    /// @brief Loads the keys file; throws std::runtime_error when it cannot be used.
    leak_api(std::string keys_file, keys::key_controls& controls, offload run_blocking);

    /// @brief Re-reads the keys file (SIGHUP); keeps the current keys when it fails.
    void reload();

    void register_routes(web::router& routes);

    /// @brief The most a report may carry.
    static constexpr std::size_t body_limit = 1024 * 1024;
    static constexpr std::size_t max_tokens = 1'000;

private:
    web::response handle(web::request_context& ctx);
    std::shared_ptr<const auth::leak_report_keys> keys() const;

    std::string keys_file_;
    keys::key_controls& controls_;
    offload run_blocking_;
    mutable std::mutex keys_mutex_;
    std::shared_ptr<const auth::leak_report_keys> keys_;
};

}  // namespace cc::api
