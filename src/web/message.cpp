#include "cc/web/message.hpp"

#include <nlohmann/json.hpp>

#include "cc/util/json_text.hpp"

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

void serialize(const response& res, bool with_body, std::string& out) {
    const auto reason = res.reason();
    const auto code = res.result_int();
    out.reserve(out.size() + 160 + (with_body ? res.body().size() : 0));
    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += static_cast<char>('0' + code / 100 % 10);
    out += static_cast<char>('0' + code / 10 % 10);
    out += static_cast<char>('0' + code % 10);
    out += ' ';
    out.append(reason.data(), reason.size());
    out += "\r\n";
    for (const auto& field : res) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.append(name.data(), name.size());
        out += ": ";
        out.append(value.data(), value.size());
        out += "\r\n";
    }
    out += "\r\n";
    if (with_body) out += res.body();
}

response json_response(bhttp::status status, const nlohmann::json& body, unsigned version) {
    return json_text_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), version);
}

response json_text_response(bhttp::status status, std::string body, unsigned version) {
    response res{status, version};
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

void append_error_json(std::string& out, const util::failure& failure, std::string_view request_id) {
    util::json_object_writer error(out);
    error.string("code", util::to_text(failure.code));
    if (!failure.details.empty()) {
        auto& list = error.begin("details");
        list += '[';
        for (std::size_t i = 0; i < failure.details.size(); ++i) {
            if (i > 0) list += ',';
            util::json_object_writer detail(list);
            detail.string("field", failure.details[i].field).string("problem", failure.details[i].problem);
            detail.close();
        }
        list += ']';
    }
    error.string("message", failure.message);
    if (!request_id.empty()) error.string("request_id", request_id);
    error.close();
}

response error_response(const std::string& request_id, unsigned version, const util::failure& failure) {
    std::string body;
    body.reserve(160 + failure.message.size() + failure.details.size() * 64);
    body += "{\"error\":";
    append_error_json(body, failure, request_id);
    body += '}';
    auto res = json_text_response(status_for(failure.code), std::move(body), version);
    if (failure.retry_after_seconds) {
        res.set(bhttp::field::retry_after, std::to_string(*failure.retry_after_seconds));
    }
    return res;
}

response error_response(const request_context& ctx, const util::failure& failure) {
    return error_response(ctx.request_id, ctx.req.version(), failure);
}

}  // namespace cc::web
