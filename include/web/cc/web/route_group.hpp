#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "cc/web/cors.hpp"
#include "cc/web/router.hpp"

namespace cc::web {

/// @brief Routes that share a body limit and a CORS policy, added to one router: the
/// first route of each path pattern also adds that path's preflight (OPTIONS, naming
/// every method the group gave the path), and every answer of a route carries the CORS
/// headers. Middleware that needs more (authentication, say) wraps the handler it adds.
/// The group may go out of scope once its routes are added: the routes keep what they need.
class route_group {
public:
    route_group(router& routes, std::size_t body_limit, std::shared_ptr<const cors_policy> cors);

    /// @brief Adds `method` on `pattern`; its handler's answer gets the CORS headers.
    void add(bhttp::verb method, const std::string& pattern, handler h);

private:
    router& routes_;
    std::size_t body_limit_;
    std::shared_ptr<const cors_policy> cors_;
    /// pattern → "GET, PUT": read by the preflight routes when they answer.
    std::shared_ptr<std::map<std::string, std::string>> methods_by_pattern_;
};

}  // namespace cc::web
