#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cc/api/admin_guard.hpp"
#include "cc/api/controls_api.hpp"
#include "cc/auth/admin_auth.hpp"
#include "cc/web/cors.hpp"
#include "cc/web/route_group.hpp"
#include "cc/keys/key_controls.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/storage/store.hpp"

namespace cc::api {

/// @brief The admin REST API (/admin/...): thin handlers over the key service and the
/// store's listings, each added to the admin route group (CORS for configured origins,
/// preflights) behind the admin guard (bearer-token auth, the blocking pool).
class admin_api {
public:
    admin_api(keys::key_service& keys, storage::store& store, const auth::admin_authenticator& auth,
              std::vector<std::string> cors_origins, offload run_blocking, keys::key_controls* controls = nullptr);

    /// @brief Adds every admin route (and its CORS preflight) to `routes`, the key
    /// controls' routes among them.
    void register_routes(web::router& routes);

private:
    /// @brief A route whose query may carry only `params` (anything else is validation_failed).
    void add(web::route_group& group, web::bhttp::verb method, const std::string& pattern, std::vector<std::string> params,
             admin_handler h);

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

    keys::key_service& keys_;
    storage::store& store_;
    keys::key_controls* controls_;
    admin_guard guard_;
    std::shared_ptr<const web::cors_policy> cors_;
    controls_api controls_routes_;
};

}  // namespace cc::api
