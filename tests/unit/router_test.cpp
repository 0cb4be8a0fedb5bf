#include "cc/web/router.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace cc::web;
using bhttp::verb;

namespace {

handler noop() {
    return [](request_context&, responder) {};
}

using params_t = std::vector<std::pair<std::string, std::string>>;

router admin_router() {
    router r;
    r.add(verb::get, "/healthz", 0, noop());
    r.add(verb::post, "/__cc/inbound", 32 * 1024, noop());
    r.add(verb::post, "/__cc/inbound/batch", 1024 * 1024, noop());
    r.add(verb::put, "/admin/domains/{domain}", 4096, noop());
    r.add(verb::get, "/admin/domains/{domain}", 0, noop());
    r.add(verb::delete_, "/admin/domains/{domain}", 0, noop());
    r.add(verb::post, "/admin/keys", 8192, noop());
    r.add(verb::get, "/admin/keys/{id}", 0, noop());
    r.add(verb::post, "/admin/keys/{id}/revoke", 0, noop());
    r.add(verb::post, "/admin/keys/{id}/roll", 1024, noop());
    r.add(verb::get, "/admin/things/{a}/parts/{b}", 0, noop());
    return r;
}

}  // namespace

TEST(Router, ExactPathMatches) {
    const auto r = admin_router();
    const auto m = r.match(verb::get, "/healthz");
    ASSERT_NE(m.found, nullptr);
    EXPECT_EQ(m.found->pattern, "/healthz");
    EXPECT_EQ(m.pattern, "/healthz");
    EXPECT_TRUE(m.params.empty());
    EXPECT_TRUE(m.allow.empty());
}

TEST(Router, ExactPathDoesNotMatchLongerOrShorterPaths) {
    const auto r = admin_router();
    EXPECT_EQ(r.match(verb::get, "/healthz/x").found, nullptr);
    EXPECT_EQ(r.match(verb::get, "/").found, nullptr);
    EXPECT_EQ(r.match(verb::get, "/healthzz").found, nullptr);
    const auto batch = r.match(verb::post, "/__cc/inbound/batch");
    ASSERT_NE(batch.found, nullptr);
    EXPECT_EQ(batch.pattern, "/__cc/inbound/batch");
}

TEST(Router, ParamSegmentIsCaptured) {
    const auto r = admin_router();
    const auto m = r.match(verb::get, "/admin/keys/key_abc123");
    ASSERT_NE(m.found, nullptr);
    EXPECT_EQ(m.pattern, "/admin/keys/{id}");
    EXPECT_EQ(m.params, (params_t{{"id", "key_abc123"}}));

    const auto revoke = r.match(verb::post, "/admin/keys/key_abc123/revoke");
    ASSERT_NE(revoke.found, nullptr);
    EXPECT_EQ(revoke.pattern, "/admin/keys/{id}/revoke");
    EXPECT_EQ(revoke.params, (params_t{{"id", "key_abc123"}}));
}

TEST(Router, SeveralParamsAreCapturedInOrder) {
    const auto r = admin_router();
    const auto m = r.match(verb::get, "/admin/things/t1/parts/p2");
    ASSERT_NE(m.found, nullptr);
    EXPECT_EQ(m.params, (params_t{{"a", "t1"}, {"b", "p2"}}));
}

TEST(Router, ParamIsPercentDecoded) {
    const auto r = admin_router();
    const auto m = r.match(verb::get, "/admin/domains/ex%61mple.com");
    ASSERT_NE(m.found, nullptr);
    EXPECT_EQ(m.params, (params_t{{"domain", "example.com"}}));
    // '+' is literal in a path; and an encoded slash stays inside the one segment.
    const auto plus = r.match(verb::get, "/admin/keys/a+b%2Fc");
    ASSERT_NE(plus.found, nullptr);
    EXPECT_EQ(plus.params, (params_t{{"id", "a+b/c"}}));
}

TEST(Router, EmptyOrBadlyEscapedParamDoesNotMatch) {
    const auto r = admin_router();
    EXPECT_EQ(r.match(verb::get, "/admin/keys/").found, nullptr);
    EXPECT_EQ(r.match(verb::get, "/admin/keys/%zz").found, nullptr);
    EXPECT_EQ(r.match(verb::get, "/admin/keys/%4").found, nullptr);
    EXPECT_EQ(r.match(verb::post, "/admin/keys//revoke").found, nullptr);
}

TEST(Router, MethodMismatchGivesAllowList) {
    const auto r = admin_router();
    const auto m = r.match(verb::post, "/admin/domains/example.com");
    EXPECT_EQ(m.found, nullptr);
    EXPECT_EQ(m.allow, "PUT, GET, HEAD, DELETE");
    EXPECT_EQ(m.pattern, "/admin/domains/{domain}");

    const auto health = r.match(verb::post, "/healthz");
    EXPECT_EQ(health.found, nullptr);
    EXPECT_EQ(health.allow, "GET, HEAD");
}

TEST(Router, TrailingSlashIsTheSameEndpoint) {
    const auto r = admin_router();
    const auto single = r.match(verb::post, "/__cc/inbound/");
    ASSERT_NE(single.found, nullptr);
    EXPECT_EQ(single.pattern, "/__cc/inbound");
    EXPECT_EQ(single.body_limit, 32u * 1024);
    const auto batch = r.match(verb::post, "/__cc/inbound/batch/");
    ASSERT_NE(batch.found, nullptr);
    EXPECT_EQ(batch.pattern, "/__cc/inbound/batch");
    EXPECT_EQ(r.match(verb::post, "/__cc/inbound//").found, nullptr);  // one slash only
    EXPECT_EQ(r.match(verb::get, "/").found, nullptr);
}

TEST(Router, HeadIsAnsweredWhereverGetIs) {
    const auto r = admin_router();
    const auto head = r.match(verb::head, "/healthz");
    ASSERT_NE(head.found, nullptr);
    EXPECT_EQ(head.found->method, verb::get);
    const auto param = r.match(verb::head, "/admin/keys/key_1");
    ASSERT_NE(param.found, nullptr);
    EXPECT_EQ(param.params, (params_t{{"id", "key_1"}}));
    const auto post_only = r.match(verb::head, "/__cc/inbound");
    EXPECT_EQ(post_only.found, nullptr);
    EXPECT_EQ(post_only.allow, "POST");
}

TEST(Router, HeaderCheckIsKeptWithTheRoute) {
    router r;
    r.add(verb::post, "/x", 10, noop(), [](request_context&) { return std::optional<response>(response{}); });
    r.add(verb::post, "/y", 10, noop());
    ASSERT_NE(r.match(verb::post, "/x").found, nullptr);
    EXPECT_TRUE(static_cast<bool>(r.match(verb::post, "/x").found->check));
    EXPECT_FALSE(static_cast<bool>(r.match(verb::post, "/y").found->check));
}

TEST(Router, UnmatchedPathHasNoAllow) {
    const auto r = admin_router();
    const auto m = r.match(verb::get, "/nowhere");
    EXPECT_EQ(m.found, nullptr);
    EXPECT_TRUE(m.allow.empty());
    EXPECT_TRUE(m.params.empty());
    EXPECT_EQ(m.pattern, "unmatched");
    EXPECT_EQ(m.body_limit, router::unmatched_body_limit);
}

TEST(Router, BodyLimitIsPerRoute) {
    const auto r = admin_router();
    EXPECT_EQ(r.match(verb::post, "/__cc/inbound").body_limit, 32u * 1024);
    EXPECT_EQ(r.match(verb::post, "/__cc/inbound/batch").body_limit, 1024u * 1024);
    EXPECT_EQ(r.match(verb::post, "/admin/keys/k/roll").body_limit, 1024u);
    EXPECT_EQ(r.match(verb::put, "/admin/domains/example.com").body_limit, 4096u);
}

TEST(Router, EmptyRouterMatchesNothing) {
    const router r;
    const auto m = r.match(verb::get, "/");
    EXPECT_EQ(m.found, nullptr);
    EXPECT_TRUE(m.allow.empty());
}

TEST(SplitTarget, SeparatesPathAndQuery) {
    EXPECT_EQ(split_target("/admin/keys?domain=example.com"),
              (std::pair<std::string_view, std::string_view>{"/admin/keys", "domain=example.com"}));
    EXPECT_EQ(split_target("/admin/keys"), (std::pair<std::string_view, std::string_view>{"/admin/keys", ""}));
    EXPECT_EQ(split_target("/a?"), (std::pair<std::string_view, std::string_view>{"/a", ""}));
    EXPECT_EQ(split_target("/a?x=1?y=2"), (std::pair<std::string_view, std::string_view>{"/a", "x=1?y=2"}));
    EXPECT_EQ(split_target(""), (std::pair<std::string_view, std::string_view>{"", ""}));
}

TEST(QueryParam, FindsAndDecodesValue) {
    EXPECT_EQ(query_param("domain=example.com&limit=50", "domain"), "example.com");
    EXPECT_EQ(query_param("domain=example.com&limit=50", "limit"), "50");
    EXPECT_EQ(query_param("before=abc%3D%3D", "before"), "abc==");
    EXPECT_EQ(query_param("q=%C3%BC", "q"), "\xC3\xBC");
}

TEST(QueryParam, PlusIsSpace) {
    EXPECT_EQ(query_param("name=Zapier+Integration", "name"), "Zapier Integration");
    EXPECT_EQ(query_param("name=a%2Bb", "name"), "a+b");
}

TEST(QueryParam, MissingIsNullopt) {
    EXPECT_FALSE(query_param("", "domain").has_value());
    EXPECT_FALSE(query_param("limit=5", "domain").has_value());
    EXPECT_FALSE(query_param("domains=x&xdomain=y", "domain").has_value());
}

TEST(QueryParam, NameWithoutValueIsEmpty) {
    EXPECT_EQ(query_param("flag&x=1", "flag"), "");
    EXPECT_EQ(query_param("domain=", "domain"), "");
}

TEST(QueryParam, EncodedNameMatches) {
    EXPECT_EQ(query_param("dom%61in=example.com", "domain"), "example.com");
}

TEST(QueryParam, LastOccurrenceWins) {
    EXPECT_EQ(query_param("limit=1&limit=2&limit=3", "limit"), "3");
    EXPECT_EQ(query_param("limit=1&other=x&limit=2", "limit"), "2");
}

TEST(QueryParam, BadEscapeInValueIsNullopt) {
    EXPECT_FALSE(query_param("domain=%zz", "domain").has_value());
}

TEST(PercentDecode, DecodesEscapes) {
    EXPECT_EQ(percent_decode("a%20b", false), "a b");
    EXPECT_EQ(percent_decode("%2f%2F", false), "//");
    EXPECT_EQ(percent_decode("%41%42c", false), "ABc");
    EXPECT_EQ(percent_decode("", false), "");
    EXPECT_EQ(percent_decode("plain", true), "plain");
    EXPECT_EQ(percent_decode("ends%41", false), "endsA");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

TEST(PercentDecode, RejectsBadEscapes) {
    for (const char* bad : {"%zz", "%4", "%", "a%", "a%4", "%g0", "%0g", "%%41", "x%-1"}) {
        EXPECT_FALSE(percent_decode(bad, false).has_value()) << bad;
        EXPECT_FALSE(percent_decode(bad, true).has_value()) << bad;
    }
}
