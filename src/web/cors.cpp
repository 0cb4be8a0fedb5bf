#include "cc/web/cors.hpp"

#include <algorithm>
#include <utility>

namespace cc::web {
namespace {

boost::beast::string_view beast_view(std::string_view s) noexcept { return {s.data(), s.size()}; }

}  // namespace

cors_policy::cors_policy(std::vector<std::string> origins, util::failure refusal)
    : origins_(std::move(origins)), refusal_(std::move(refusal)) {}

bool cors_policy::allows(std::string_view origin) const {
    return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

void cors_policy::apply(std::string_view origin, response& res) const {
    if (origin.empty()) return;
    res.set(bhttp::field::vary, "Origin");
    if (!allows(origin)) return;
    res.set(bhttp::field::access_control_allow_origin, beast_view(origin));
    res.set(bhttp::field::access_control_expose_headers, "X-Request-Id, Retry-After");
}

response cors_policy::preflight(const request_context& ctx, const std::string& methods) const {
    const auto origin = ctx.req[bhttp::field::origin];
    if (!origin.empty() && !allows(std::string_view(origin.data(), origin.size()))) {
        auto res = error_response(ctx, refusal_);
        res.set(bhttp::field::vary, "Origin");
        return res;
    }
    response res{bhttp::status::no_content, 11};
    res.set(bhttp::field::allow, methods + ", OPTIONS");
    if (!origin.empty()) {
        res.set(bhttp::field::access_control_allow_origin, origin);
        res.set(bhttp::field::access_control_allow_methods, methods);
        res.set(bhttp::field::access_control_allow_headers, "Authorization, Content-Type, X-Request-Id");
        res.set(bhttp::field::access_control_max_age, "600");
        res.set(bhttp::field::vary, "Origin");
    }
    return res;
}

}  // namespace cc::web
