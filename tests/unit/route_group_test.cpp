#include "cc/web/route_group.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

using namespace cc::web;
using bhttp::verb;

namespace {

std::shared_ptr<const cors_policy> policy() {
    return std::make_shared<const cors_policy>(
        std::vector<std::string>{"https://ok.example"},
        cc::util::failure{cc::util::error_code::origin_not_allowed, "This origin may not call these routes.", {}});
}

handler answer_ok() {
    return [](request_context&, responder done) { done(response{bhttp::status::ok, 11}); };
}

/// @brief Routes `method path` (with an Origin header unless empty) and returns the answer.
response call(const router& routes, verb method, const std::string& path, const std::string& origin) {
    request req{method, path, 11};
    if (!origin.empty()) req.set(bhttp::field::origin, origin);
    const auto match = routes.match(method, path);
    EXPECT_NE(match.found, nullptr);
    request_context ctx{req, "req_test", "127.0.0.1", match.pattern, match.params, {}, {}, {}, {}, {}};
    std::optional<response> answered;
    match.found->handle(ctx, [&answered](response res) { answered = std::move(res); });
    EXPECT_TRUE(answered.has_value());
    return answered.value_or(response{});
}

std::string header(const response& res, bhttp::field name) { return std::string(res[name]); }

}  // namespace

TEST(RouteGroup, PreflightNamesEveryMethodOfThePath) {
    router routes;
    route_group group(routes, 1024, policy());
    group.add(verb::get, "/things/{id}", answer_ok());
    group.add(verb::put, "/things/{id}", answer_ok());
    const auto res = call(routes, verb::options, "/things/a", "https://ok.example");
    EXPECT_EQ(res.result(), bhttp::status::no_content);
    EXPECT_EQ(header(res, bhttp::field::allow), "GET, PUT, OPTIONS");
    EXPECT_EQ(header(res, bhttp::field::access_control_allow_methods), "GET, PUT");
    EXPECT_EQ(header(res, bhttp::field::access_control_allow_origin), "https://ok.example");
    EXPECT_EQ(header(res, bhttp::field::vary), "Origin");
    // The preflight comes first, so a 405 names it first.
    EXPECT_EQ(routes.match(verb::post, "/things/a").allow, "OPTIONS, GET, HEAD, PUT");
}

TEST(RouteGroup, PreflightFromAnotherOriginIsRefused) {
    router routes;
    route_group group(routes, 1024, policy());
    group.add(verb::get, "/things", answer_ok());
    const auto res = call(routes, verb::options, "/things", "https://evil.example");
    EXPECT_EQ(res.result(), bhttp::status::forbidden);
    EXPECT_EQ(header(res, bhttp::field::vary), "Origin");
    EXPECT_EQ(header(res, bhttp::field::access_control_allow_origin), "");
}

TEST(RouteGroup, AnswersCarryCorsHeadersOnlyForBrowsers) {
    router routes;
    {
        route_group group(routes, 1024, policy());  // the routes outlive the group
        group.add(verb::get, "/things", answer_ok());
    }
    const auto allowed = call(routes, verb::get, "/things", "https://ok.example");
    EXPECT_EQ(header(allowed, bhttp::field::access_control_allow_origin), "https://ok.example");
    EXPECT_EQ(header(allowed, bhttp::field::access_control_expose_headers), "X-Request-Id, Retry-After");
    EXPECT_EQ(header(allowed, bhttp::field::vary), "Origin");
    const auto other = call(routes, verb::get, "/things", "https://evil.example");
    EXPECT_EQ(header(other, bhttp::field::vary), "Origin");
    EXPECT_EQ(header(other, bhttp::field::access_control_allow_origin), "");
    const auto no_browser = call(routes, verb::get, "/things", "");
    EXPECT_EQ(no_browser.find(bhttp::field::vary), no_browser.end());
    EXPECT_EQ(routes.match(verb::get, "/things").body_limit, 1024u);
}
