#pragma once
#include <functional>
#include <string>
#include <vector>

#include "cc/auth/admin_auth.hpp"
#include "cc/web/router.hpp"
#include "cc/keys/key_controls.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/storage/store.hpp"

namespace cc::api {

/// @brief Runs blocking work (storage) off the network threads.
using offload = std::function<void(std::function<void()>)>;

/// @brief The admin REST API (/admin/...): bearer-token auth, CORS for configured
/// origins, and thin handlers over the key service and the store's listings.
class admin_api {
public:
    admin_api(keys::key_service& keys, storage::store& store, const auth::admin_authenticator& auth,
              std::vector<std::string> cors_origins, offload run_blocking, keys::key_controls* controls = nullptr);

    /// @brief Adds every admin route (and its CORS preflight) to `routes`.
    void register_routes(web::router& routes);

private:
    using admin_handler = std::function<web::response(web::request_context&, const keys::actor&)>;
    /// @brief A route whose query may carry only `params` (anything else is validation_failed).
    void add(web::router& routes, web::bhttp::verb method, const std::string& pattern, std::vector<std::string> params,
             admin_handler h);
    /// @brief A route that checks its own query string.
    void add(web::router& routes, web::bhttp::verb method, const std::string& pattern, admin_handler h);
    void add_preflight(web::router& routes, const std::string& pattern);
    void apply_cors(const web::request_context& ctx, web::response& res) const;
    bool origin_allowed(std::string_view origin) const;

    web::response put_domain(web::request_context& ctx, const keys::actor& who);
    web::response list_domains(web::request_context& ctx);
    web::response get_domain(web::request_context& ctx);
    web::response delete_domain(web::request_context& ctx, const keys::actor& who);
    web::response create_key(web::request_context& ctx, const keys::actor& who);
    web::response list_keys(web::request_context& ctx);
    web::response get_key(web::request_context& ctx);
    web::response rename_key(web::request_context& ctx, const keys::actor& who);
    web::response roll_key(web::request_context& ctx, const keys::actor& who);
    web::response list_events(web::request_context& ctx);
    web::response get_event(web::request_context& ctx);
    /// @brief 404 domain_not_found unless `domain` is registered.
    std::optional<web::response> check_domain(web::request_context& ctx, const std::string& domain);
    web::response list_audit(web::request_context& ctx);
    // Key controls (SPEC §7), in controls_api.cpp.
    void register_control_routes(web::router& routes);
    web::response key_usage(web::request_context& ctx);
    web::response list_rejections(web::request_context& ctx);

    keys::key_service& keys_;
    storage::store& store_;
    const auth::admin_authenticator& auth_;
    std::vector<std::string> cors_origins_;
    offload run_blocking_;
    keys::key_controls* controls_;
    std::map<std::string, std::string> methods_by_pattern_;  ///< for preflight answers
};

}  // namespace cc::api
