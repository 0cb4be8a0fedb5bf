#include "cc/api/ops_api.hpp"

#include <nlohmann/json.hpp>

#include "cc/ops/metrics.hpp"

namespace cc::api {

using web::bhttp::status;
using web::bhttp::verb;

ops_api::ops_api(std::function<ops::readiness_report()> ready) : ready_(std::move(ready)) {}

void ops_api::register_health(web::router& routes) {
    routes.add(verb::get, "/healthz", 0, [](web::request_context&, web::responder done) {
        done(web::json_response(status::ok, {{"status", "ok"}}));
    });
    routes.add(verb::get, "/readyz", 0, [this](web::request_context& ctx, web::responder done) {
        ops::readiness_report report;
        try {
            report = ready_();
        } catch (const std::exception& e) {
            report.checks.push_back({"readiness", e.what()});
        }
        // Ready keeps the body clients already parse; only a failure needs to say more.
        if (report.ready()) return done(web::json_response(status::ok, {{"status", "ready"}}));
        // The error shape of every error; `details` names each failed check and its problem.
        std::string message = "Not ready:";
        std::vector<util::field_problem> details;
        for (const auto& c : report.failed()) {
            message += (details.empty() ? " " : "; ") + c.name + " (" + c.problem + ")";
            details.push_back({c.name, c.problem});
        }
        ctx.log_error = "unavailable";
        done(web::error_response(ctx, {util::error_code::unavailable, message + ".", std::move(details), 1}));
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
