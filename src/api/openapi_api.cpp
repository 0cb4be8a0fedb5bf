#include "cc/api/openapi_api.hpp"

namespace cc::api {

void register_openapi(web::router& routes) {
    routes.add(web::bhttp::verb::get, "/openapi.json", 0, [](web::request_context&, web::responder done) {
        web::response res{web::bhttp::status::ok, 11};
        res.set(web::bhttp::field::content_type, "application/json");
        // The document changes only with the binary: let clients cache it briefly.
        res.set(web::bhttp::field::cache_control, "public, max-age=300");
        res.body() = std::string(openapi_document());
        done(std::move(res));
    });
}

}  // namespace cc::api
