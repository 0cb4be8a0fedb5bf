#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/api/admin_guard.hpp"
#include "cc/events/event.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/storage/store.hpp"
#include "cc/web/route_group.hpp"

namespace cc::api {

/// @brief The optional `allowed_ips` field of a key body: an array of at most 50 IPv4/IPv6
/// addresses or CIDR blocks, normalized (`10.0.0.1` → `10.0.0.1/32`). Absent: nullopt;
/// `[]` or null: an empty list (any address). Problems name the entry.
std::optional<std::vector<std::string>> allowed_ips_field(const nlohmann::json& body,
                                                          std::vector<util::field_problem>& problems);

/// @brief The admin routes of the key controls (SPEC §7): a key's hourly usage
/// (GET /admin/keys/{id}/usage) and the rejection log (GET /admin/rejections). Added to
/// the admin route group behind the admin guard, like every admin route.
class controls_api {
public:
    controls_api(keys::key_service& keys, storage::store& store);

    void register_routes(web::route_group& group, const admin_guard& guard);

private:
    web::response key_usage(web::request_context& ctx);
    web::response list_rejections(web::request_context& ctx);

    keys::key_service& keys_;
    storage::store& store_;
};

}  // namespace cc::api
