#pragma once
#include <functional>
#include <string>

#include "cc/auth/admin_auth.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/web/message.hpp"

namespace cc::api {

/// @brief Runs blocking work (storage) off the network threads.
using offload = std::function<void(std::function<void()>)>;

/// @brief An admin route's handler: runs once the bearer token is accepted, with the
/// token's id and the client's address as the actor of any change it makes.
using admin_handler = std::function<web::response(web::request_context&, const keys::actor&)>;

/// @brief The middleware in front of every admin handler: the bearer check on the
/// connection's thread (a refusal is 401 with `WWW-Authenticate: Bearer`, answered later
/// when the client's address keeps failing), then the handler on the blocking pool, its
/// storage errors answered as 503 and anything else it throws as 500. CORS is the route
/// group's (web::route_group); the guard goes inside it.
class admin_guard {
public:
    admin_guard(const auth::admin_authenticator& auth, offload run_blocking);

    /// @brief The route handler that runs `h` behind the guard.
    web::handler wrap(admin_handler h) const;

private:
    const auth::admin_authenticator& auth_;
    offload run_blocking_;
};

}  // namespace cc::api
