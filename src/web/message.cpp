#include "cc/web/message.hpp"

#include <nlohmann/json.hpp>

namespace cc::web {

const std::string& request_context::param(const std::string& name) const {
    static const std::string none;
    for (const auto& [key, value] : path_params) {
        if (key == name) return value;
    }
    return none;
}

bhttp::status status_for(util::error_code code) {
    return static_cast<bhttp::status>(util::http_status(code));
}

response json_response(bhttp::status status, const nlohmann::json& body, unsigned version) {
    response res{status, version};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    res.prepare_payload();
    return res;
}

nlohmann::json error_json(const util::failure& failure) {
    nlohmann::json error = {{"code", util::to_text(failure.code)}, {"message", failure.message}};
    if (!failure.details.empty()) {
        auto& details = error["details"] = nlohmann::json::array();
        for (const auto& d : failure.details) details.push_back({{"field", d.field}, {"problem", d.problem}});
    }
    return error;
}

response error_response(const std::string& request_id, unsigned version, const util::failure& failure) {
    auto error = error_json(failure);
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
