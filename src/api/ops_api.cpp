#include "cc/api/ops_api.hpp"

#include <nlohmann/json.hpp>

#include "cc/ops/metrics.hpp"

namespace cc::api {

using web::bhttp::status;
using web::bhttp::verb;

ops_api::ops_api(std::function<bool()> ready) : ready_(std::move(ready)) {}

void ops_api::register_health(web::router& routes) {
    routes.add(verb::get, "/healthz", 0, [](web::request_context&, web::responder done) {
        done(web::json_response(status::ok, {{"status", "ok"}}));
    });
    routes.add(verb::get, "/readyz", 0, [this](web::request_context& ctx, web::responder done) {
        bool ready = false;
        std::string reason;
        try {
            ready = ready_();
        } catch (const std::exception& e) {
            ready = false;
            reason = e.what();  // storage's or the change feed's own words; they carry no secret
        }
        if (ready) return done(web::json_response(status::ok, {{"status", "ready"}}));
        done(web::error_response(
            ctx, {"unavailable", reason.empty() ? "Not ready: starting, draining, or storage unavailable." : "Not ready: " + reason,
                  {}, 1}));
    });
}

void ops_api::register_metrics(web::router& routes) {
    routes.add(verb::get, "/metrics", 0, [](web::request_context&, web::responder done) {
        web::response res{status::ok, 11};
        res.set(web::bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = ops::global_metrics().render();
        done(std::move(res));
    });
}

}  // namespace cc::api
