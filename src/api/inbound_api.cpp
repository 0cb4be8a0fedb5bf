#include "cc/api/inbound_api.hpp"

#include "cc/util/json_text.hpp"

namespace cc::api {
namespace {

using web::bhttp::status;

std::string header(const web::request& req, web::bhttp::field f) {
    const auto v = req[f];
    return std::string(v.data(), v.size());
}

/// @brief A receipt's status as the contract spells it.
std::string_view status_text(intake::receipt_status s) {
    switch (s) {
        case intake::receipt_status::accepted: return "accepted";
        case intake::receipt_status::duplicate: return "duplicate";
        case intake::receipt_status::rejected: return "rejected";
    }
    return "rejected";
}

}  // namespace

inbound_api::inbound_api(intake::intake_service& intake) : intake_(intake) {}

intake::inbound_call inbound_api::header_call(web::request_context& ctx) {
    intake::inbound_call call;
    // Only the header carries a key: a key in the query string is never read.
    if (const auto key = ctx.req["X-CC-Api-Key"]; !key.empty()) call.api_key = std::string(key.data(), key.size());
    call.host = header(ctx.req, web::bhttp::field::host);
    const auto target = ctx.req.target();
    call.query = std::string(web::split_target(std::string_view(target.data(), target.size())).second);
    call.client_ip = ctx.client_ip;
    call.request_id = ctx.request_id;
    // A browser announces itself with Origin (cross-origin and POST) or Sec-Fetch-Site
    // (every fetch of a current browser). Sec-Fetch-Mode alone is not a browser: Node's
    // server-side fetch sends it on every request.
    if (const auto origin = ctx.req[web::bhttp::field::origin]; !origin.empty()) {
        call.browser_origin = std::string(origin.data(), origin.size());
    } else if (const auto site = ctx.req["Sec-Fetch-Site"]; !site.empty()) {
        // Same-origin fetches carry no Origin: the Referer's origin says which page it was.
        const auto referer = ctx.req[web::bhttp::field::referer];
        const std::string_view ref(referer.data(), referer.size());
        const auto scheme_end = ref.find("://");
        if (scheme_end != std::string_view::npos && scheme_end > 0) {
            call.browser_origin = std::string(ref.substr(0, ref.find('/', scheme_end + 3)));
        } else {
            call.browser_origin = "sec-fetch-site: " + std::string(site.data(), site.size());
        }
    }
    call.on_identified = [&ctx](const keys::key_state& key) {
        ctx.log_domain = *key.domain;
        ctx.log_key_prefix = key.prefix;
    };
    return call;
}

intake::inbound_call inbound_api::call_of(web::request_context& ctx) {
    auto call = header_call(ctx);
    if (auto* key = std::any_cast<keys::key_lookup>(&ctx.route_state)) {
        call.identified = std::move(*key);  // check_key accepted it from the header block
    }
    call.content_type = header(ctx.req, web::bhttp::field::content_type);
    // Every Content-Encoding line counts: two lines are a list of codings, as one line with a comma.
    for (auto [it, end] = ctx.req.equal_range(web::bhttp::field::content_encoding); it != end; ++it) {
        if (!call.content_encoding.empty()) call.content_encoding += ",";
        call.content_encoding.append(it->value().data(), it->value().size());
    }
    call.body = std::move(ctx.req.body());
    call.run_on_origin = ctx.run_here;
    return call;
}

std::optional<web::response> inbound_api::check_key(web::request_context& ctx) {
    auto key = intake_.identify(header_call(ctx));
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
                       std::string body;
                       util::json_object_writer answer(body);
                       answer.string("event_id", receipt.event_id).string("status", status_text(receipt.status));
                       answer.close();
                       done(web::json_text_response(
                           receipt.status == intake::receipt_status::accepted ? status::accepted : status::ok, std::move(body),
                           version));
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
                       std::string body;
                       body.reserve(64 + receipt.results.size() * 80);
                       util::json_object_writer answer(body);
                       answer.integer("accepted", static_cast<std::int64_t>(receipt.accepted))
                           .integer("duplicates", static_cast<std::int64_t>(receipt.duplicates))
                           .integer("rejected", static_cast<std::int64_t>(receipt.rejected));
                       auto& results = answer.begin("results");
                       results += '[';
                       for (std::size_t i = 0; i < receipt.results.size(); ++i) {
                           const auto& item = receipt.results[i];
                           if (i > 0) results += ',';
                           util::json_object_writer entry(results);
                           if (item.error) web::append_error_json(entry.begin("error"), *item.error);
                           if (item.event_id) entry.string("event_id", *item.event_id);
                           entry.integer("index", static_cast<std::int64_t>(item.index)).string("status", status_text(item.status));
                           entry.close();
                       }
                       results += ']';
                       answer.close();
                       done(web::json_text_response(status::ok, std::move(body), version));
                   });
               },
               check);
}

}  // namespace cc::api
