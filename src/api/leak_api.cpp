#include "cc/api/leak_api.hpp"

#include <nlohmann/json.hpp>

#include "cc/events/json_reader.hpp"
#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::api {
namespace {

using web::bhttp::status;

std::string header(const web::request& req, std::string_view name) {
    const auto v = req[boost::beast::string_view(name.data(), name.size())];
    return std::string(v.data(), v.size());
}

util::failure invalid_signature(std::string message) {
    return {util::error_code::invalid_signature, std::move(message), {}};
}

}  // namespace

leak_api::leak_api(std::string keys_file, keys::key_controls& controls, offload run_blocking)
    : keys_file_(std::move(keys_file)), controls_(controls), run_blocking_(std::move(run_blocking)),
      keys_(auth::leak_report_keys::load(keys_file_)) {}

void leak_api::reload() {
    try {
        auto fresh = auth::leak_report_keys::load(keys_file_);
        const auto count = fresh->size();
        {
            std::lock_guard lock(keys_mutex_);
            keys_ = std::move(fresh);
        }
        ops::log(spdlog::level::info, "leak report keys reloaded", {{"keys", count}});
    } catch (const std::exception& e) {
        ops::log(spdlog::level::err, "leak report keys reload failed; keeping the current keys", {{"error", e.what()}});
    }
}

std::shared_ptr<const auth::leak_report_keys> leak_api::keys() const {
    std::lock_guard lock(keys_mutex_);
    return keys_;
}

void leak_api::register_routes(web::router& routes) {
    routes.add(web::bhttp::verb::post, "/__cc/leaks", body_limit, [this](web::request_context& ctx, web::responder done) {
        // Revoking writes to storage: off the network threads.
        run_blocking_([this, &ctx, done] {
            web::response res;
            try {
                res = handle(ctx);
            } catch (const storage::storage_error& e) {
                ops::log(spdlog::level::err, "leak report storage error", {{"request_id", ctx.request_id}, {"error", e.what()}});
                res = web::error_response(ctx, {util::error_code::unavailable, "Storage is unavailable; retry the report shortly.", {}, 1});
            }
            done(std::move(res));
        });
    });
}

web::response leak_api::handle(web::request_context& ctx) {
    const auto key_id = header(ctx.req, "Github-Public-Key-Identifier");
    const auto signature = header(ctx.req, "Github-Public-Key-Signature");
    if (key_id.empty() || signature.empty()) {
        return web::error_response(ctx, invalid_signature("The Github-Public-Key-Identifier and Github-Public-Key-Signature "
                                                          "headers are required."));
    }
    // The signature covers the raw bytes: check it before reading anything of the body.
    switch (keys()->verify(key_id, signature, ctx.req.body())) {
        case auth::leak_report_keys::verdict::good:
            break;
        case auth::leak_report_keys::verdict::unknown_key:
            return web::error_response(ctx, invalid_signature("The Github-Public-Key-Identifier names no configured key."));
        case auth::leak_report_keys::verdict::malformed_signature:
            return web::error_response(ctx, invalid_signature("The Github-Public-Key-Signature is not base64 DER."));
        case auth::leak_report_keys::verdict::bad_signature:
            return web::error_response(ctx, invalid_signature("The signature does not match the body."));
    }

    std::string error;
    const auto doc = events::read_json(ctx.req.body(), error);
    if (!doc) return web::error_response(ctx, {util::error_code::invalid_json, "The body is not valid JSON: " + error, {}});
    const auto& alerts = doc->root;
    if (!alerts.is_array()) {
        return web::error_response(ctx, util::validation_failure({{"(body)", "must be a JSON array of alerts"}}));
    }
    if (alerts.size() > max_tokens) {
        return web::error_response(
            ctx, util::validation_failure({{"(body)", "must hold at most " + std::to_string(max_tokens) + " alerts"}}));
    }
    std::vector<util::field_problem> problems;
    for (std::size_t i = 0; i < alerts.size(); ++i) {
        const auto& a = alerts[i];
        const auto where = "[" + std::to_string(i) + "]";
        if (!a.is_object() || !a.contains("token") || !a["token"].is_string()) {
            problems.push_back({where + ".token", "is required and must be a string"});
            continue;
        }
        for (const char* name : {"type", "url", "source"}) {
            if (a.contains(name) && !a[name].is_string() && !a[name].is_null()) {
                problems.push_back({where + "." + name, "must be a string"});
            }
        }
    }
    // Nothing is revoked unless the whole report is well-formed.
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));

    const auto text = [](const nlohmann::json& a, const char* name) {
        return a.contains(name) && a[name].is_string() ? a[name].get<std::string>() : std::string();
    };
    const keys::actor who{"github_secret_scanning", ctx.client_ip};
    nlohmann::json answer = nlohmann::json::array();
    std::size_t true_positives = 0;
    for (const auto& a : alerts) {
        const auto token = a["token"].get<std::string>();
        const bool ours = controls_.report_leak(token, text(a, "url"), text(a, "source"), who);
        true_positives += ours;
        answer.push_back({{"token_raw", token},
                          {"token_type", text(a, "type")},
                          {"label", ours ? "true_positive" : "false_positive"}});
    }
    ops::log(spdlog::level::info, "leak report",
             {{"request_id", ctx.request_id}, {"alerts", alerts.size()}, {"true_positives", true_positives}});
    return web::json_response(status::ok, answer);
}

}  // namespace cc::api
