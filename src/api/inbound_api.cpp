#include "cc/api/inbound_api.hpp"

#include <nlohmann/json.hpp>

namespace cc::api {
namespace {

using web::bhttp::status;

std::string header(const web::request& req, web::bhttp::field f) {
    const auto v = req[f];
    return std::string(v.data(), v.size());
}

nlohmann::json failure_json(const util::failure& f) {
    nlohmann::json error = {{"code", f.code}, {"message", f.message}};
    if (!f.details.empty()) {
        auto& details = error["details"] = nlohmann::json::array();
        for (const auto& d : f.details) details.push_back({{"field", d.field}, {"problem", d.problem}});
    }
    return error;
}

}  // namespace

inbound_api::inbound_api(intake::intake_service& intake) : intake_(intake) {}

intake::inbound_call inbound_api::call_of(web::request_context& ctx) {
    intake::inbound_call call;
    if (auto* key = std::any_cast<keys::key_lookup>(&ctx.route_state)) {
        call.identified = std::move(*key);  // check_key accepted it from the header block
    } else if (const auto key = ctx.req["X-CC-Api-Key"]; !key.empty()) {
        // Only the header carries a key: a key in the query string is never read.
        call.api_key = std::string(key.data(), key.size());
    }
    call.host = header(ctx.req, web::bhttp::field::host);
    call.content_type = header(ctx.req, web::bhttp::field::content_type);
    call.body = std::move(ctx.req.body());
    call.client_ip = ctx.client_ip;
    call.on_identified = [&ctx](const keys::key_state& key) {
        ctx.log_domain = key.domain;
        ctx.log_key_prefix = key.prefix;
    };
    return call;
}

std::optional<web::response> inbound_api::check_key(web::request_context& ctx) {
    intake::inbound_call call;
    if (const auto key = ctx.req["X-CC-Api-Key"]; !key.empty()) call.api_key = std::string(key.data(), key.size());
    call.host = header(ctx.req, web::bhttp::field::host);
    call.client_ip = ctx.client_ip;
    call.on_identified = [&ctx](const keys::key_state& key) {
        ctx.log_domain = key.domain;
        ctx.log_key_prefix = key.prefix;
    };
    auto key = intake_.identify(call);
    if (!key.ok()) return web::error_response(ctx, key.error());
    ctx.route_state = std::move(key.value());
    return std::nullopt;
}

void inbound_api::register_routes(web::router& routes) {
    const auto check = [this](web::request_context& ctx) { return check_key(ctx); };
    routes.add(web::bhttp::verb::post, "/__cc/inbound", single_body_limit,
               [this](web::request_context& ctx, web::responder done) {
                   const auto request_id = ctx.request_id;
                   const auto version = ctx.req.version();
                   intake_.receive_one(call_of(ctx), [done, request_id, version](util::outcome<intake::event_receipt> r) {
                       if (!r.ok()) return done(web::error_response(request_id, version, r.error()));
                       const auto& receipt = r.value();
                       done(web::json_response(receipt.status == "accepted" ? status::accepted : status::ok,
                                               {{"status", receipt.status}, {"event_id", receipt.event_id}}, version));
                   });
               },
               check);
    routes.add(web::bhttp::verb::post, "/__cc/inbound/batch", batch_body_limit,
               [this](web::request_context& ctx, web::responder done) {
                   const auto request_id = ctx.request_id;
                   const auto version = ctx.req.version();
                   intake_.receive_batch(call_of(ctx), [done, request_id, version](util::outcome<intake::batch_receipt> r) {
                       if (!r.ok()) return done(web::error_response(request_id, version, r.error()));
                       const auto& receipt = r.value();
                       nlohmann::json results = nlohmann::json::array();
                       for (const auto& item : receipt.results) {
                           nlohmann::json entry = {{"index", item.index}, {"status", item.status}};
                           if (item.event_id) entry["event_id"] = *item.event_id;
                           if (item.error) entry["error"] = failure_json(*item.error);
                           results.push_back(std::move(entry));
                       }
                       done(web::json_response(status::ok,
                                               {{"accepted", receipt.accepted},
                                                {"duplicates", receipt.duplicates},
                                                {"rejected", receipt.rejected},
                                                {"results", std::move(results)}},
                                               version));
                   });
               },
               check);
}

}  // namespace cc::api
