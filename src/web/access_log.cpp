#include "cc/web/access_log.hpp"

#include <charconv>
#include <string>
#include <vector>

#include "cc/net.hpp"
#include "cc/ops/logger.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/util/json_text.hpp"

namespace cc::web {
namespace {

/// @brief The error code and failing field names of an error answer, read from the body
/// every error shares (`{"error":{"code":"...",...,"details":[{"field":"..."}]}}`), so an
/// answer built far from the connection still logs why it failed. Values are never read.
struct logged_error {
    std::string code;
    std::vector<std::string> fields;
};

logged_error error_of(const response& res) {
    logged_error out;
    const std::string_view body = res.body();
    constexpr std::string_view code_key = "{\"error\":{\"code\":\"";
    if (!body.starts_with(code_key)) return out;
    const auto code_end = body.find('"', code_key.size());
    if (code_end == std::string_view::npos) return out;
    out.code = body.substr(code_key.size(), code_end - code_key.size());
    constexpr std::string_view field_key = "{\"field\":\"";
    // Field names are JSON strings written by the service itself (no escaped quotes).
    for (auto at = body.find(field_key); at != std::string_view::npos && out.fields.size() < 32;
         at = body.find(field_key, at + 1)) {
        const auto start = at + field_key.size();
        const auto end = body.find('"', start);
        if (end == std::string_view::npos) break;
        out.fields.emplace_back(body.substr(start, end - start));
    }
    return out;
}

}  // namespace

void log_access(const request_context& ctx, const response& res, std::string_view method, double seconds) {
    auto& m = ops::global_metrics();
    char status[4];
    const int code = res.result_int();
    const auto status_end = std::to_chars(status, status + sizeof status, code).ptr;
    // Label values stay bounded: a method the client made up is counted as "other".
    const bool known_method = http::string_to_verb(beast::string_view(method.data(), method.size())) != http::verb::unknown;
    m.http_requests.inc({ctx.route, known_method ? method : std::string_view("other"),
                         std::string_view(status, static_cast<std::size_t>(status_end - status))});
    m.http_duration.observe({ctx.route}, seconds);
    const auto level = code >= 500 ? spdlog::level::warn : spdlog::level::info;
    if (!ops::should_log(level)) return;
    ops::log_line line(level, "request");
    auto& fields = line.fields();
    fields.string("request_id", ctx.request_id)
        .string("method", method)
        .string("route", ctx.route)
        .integer("status", code)
        .decimal3("latency_ms", seconds * 1000.0)
        .string("client_ip", ctx.client_ip);
    if (!ctx.log_domain.empty()) fields.string("domain", ctx.log_domain);
    if (!ctx.log_key_prefix.empty()) fields.string("key_prefix", ctx.log_key_prefix);
    if (!ctx.log_error.empty()) {
        fields.string("error", ctx.log_error);
    } else if (code >= 400) {
        const auto error = error_of(res);
        if (!error.code.empty()) fields.string("error", error.code);
        if (!error.fields.empty()) {
            auto& out = fields.begin("error_fields");
            out += '[';
            for (std::size_t i = 0; i < error.fields.size(); ++i) {
                if (i > 0) out += ',';
                util::append_json_string(out, error.fields[i]);
            }
            out += ']';
        }
    }
    line.write();
}

}  // namespace cc::web
