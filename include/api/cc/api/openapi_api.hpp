#pragma once
#include <string_view>

#include "cc/web/router.hpp"

namespace cc::api {

/// @brief The OpenAPI 3.1 document of every route (openapi/openapi.json, embedded at build time).
std::string_view openapi_document();

/// @brief GET /openapi.json: the embedded document, served as application/json.
void register_openapi(web::router& routes);

}  // namespace cc::api
