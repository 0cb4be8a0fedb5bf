#include "cc/http/message.hpp"

#include <map>

#include <nlohmann/json.hpp>

namespace cc::web {

const std::string& request_context::param(const std::string& name) const {
    static const std::string none;
    for (const auto& [key, value] : path_params) {
        if (key == name) return value;
    }
    return none;
}

bhttp::status status_for(const std::string& code) {
    static const std::map<std::string, bhttp::status, std::less<>> statuses = {
        {"invalid_json", bhttp::status::bad_request},
        {"validation_failed", bhttp::status::bad_request},
        {"bad_request", bhttp::status::bad_request},
        {"missing_api_key", bhttp::status::unauthorized},
        {"invalid_api_key", bhttp::status::unauthorized},
        {"revoked_api_key", bhttp::status::unauthorized},
        {"expired_api_key", bhttp::status::unauthorized},
        {"unauthorized", bhttp::status::unauthorized},
        {"domain_mismatch", bhttp::status::forbidden},
        {"ip_not_allowed", bhttp::status::forbidden},
        {"browser_request_refused", bhttp::status::forbidden},
        {"invalid_signature", bhttp::status::unauthorized},
        {"origin_not_allowed", bhttp::status::forbidden},
        {"not_found", bhttp::status::not_found},
        {"domain_not_found", bhttp::status::not_found},
        {"key_not_found", bhttp::status::not_found},
        {"event_not_found", bhttp::status::not_found},
        {"method_not_allowed", bhttp::status::method_not_allowed},
        {"request_timeout", bhttp::status::request_timeout},
        {"plan_limit_reached", bhttp::status::conflict},
        {"domain_has_keys", bhttp::status::conflict},
        {"key_already_rolled", bhttp::status::conflict},
        {"key_not_active", bhttp::status::conflict},
        {"payload_too_large", bhttp::status::payload_too_large},
        {"unsupported_media_type", bhttp::status::unsupported_media_type},
        {"rate_limited", bhttp::status::too_many_requests},
        {"request_header_fields_too_large", bhttp::status::request_header_fields_too_large},
        {"unavailable", bhttp::status::service_unavailable},
    };
    const auto it = statuses.find(code);
    return it == statuses.end() ? bhttp::status::internal_server_error : it->second;
}

response json_response(bhttp::status status, const nlohmann::json& body, unsigned version) {
    response res{status, version};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    res.prepare_payload();
    return res;
}

response error_response(const std::string& request_id, unsigned version, const util::failure& failure) {
    nlohmann::json error = {{"code", failure.code}, {"message", failure.message}};
    if (!failure.details.empty()) {
        auto& details = error["details"] = nlohmann::json::array();
        for (const auto& d : failure.details) details.push_back({{"field", d.field}, {"problem", d.problem}});
    }
    error["request_id"] = request_id;
    auto res = json_response(status_for(failure.code), {{"error", std::move(error)}}, version);
    if (failure.retry_after_seconds) {
        res.set(bhttp::field::retry_after, std::to_string(*failure.retry_after_seconds));
    }
    return res;
}

response error_response(const request_context& ctx, const util::failure& failure) {
    return error_response(ctx.request_id, ctx.req.version(), failure);
}

}  // namespace cc::web
