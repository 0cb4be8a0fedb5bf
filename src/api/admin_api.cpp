#include "cc/api/admin_api.hpp"

#include <charconv>

#include "cc/api/json_body.hpp"
#include "cc/api/views.hpp"
#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/rfc3339.hpp"

namespace cc::api {
namespace {

using web::bhttp::status;
using web::bhttp::verb;

constexpr std::size_t admin_body_limit = 64 * 1024;

/// @brief A response from a service outcome: `ok` status with `to_body`, or the error.
template <typename T, typename Render>
web::response respond(const web::request_context& ctx, const util::outcome<T>& result, status ok, Render to_body) {
    if (!result.ok()) return web::error_response(ctx, result.error());
    return web::json_response(ok, to_body(result.value()));
}

web::response no_content() {
    web::response res{status::no_content, 11};
    return res;
}

std::string query_of(const web::request_context& ctx) {
    const auto target = ctx.req.target();
    return std::string(web::split_target(std::string_view(target.data(), target.size())).second);
}

/// @brief Reads `limit` (1-500, default 50) and `before` (a cursor) from the query.
std::optional<storage::listing_query> listing_query_of(const web::request_context& ctx,
                                                       std::vector<events::field_problem>& problems) {
    const auto query = query_of(ctx);
    storage::listing_query q;
    q.domain = web::query_param(query, "domain");
    if (q.domain && q.domain->empty()) q.domain.reset();
    const auto parse = [](const std::string& text, std::int64_t& out) {
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        return ec == std::errc() && ptr == text.data() + text.size();
    };
    if (const auto limit = web::query_param(query, "limit")) {
        std::int64_t n = 0;
        if (!parse(*limit, n) || n < 1 || n > 500) {
            problems.push_back({"limit", "must be a whole number from 1 to 500"});
        } else {
            q.limit = static_cast<int>(n);
        }
    }
    if (const auto before = web::query_param(query, "before"); before && !before->empty()) {
        std::int64_t n = 0;
        if (!parse(*before, n) || n < 0) {
            problems.push_back({"before", "must be a cursor returned as `next` by a previous page"});
        } else {
            q.before = n;
        }
    }
    if (!problems.empty()) return std::nullopt;
    return q;
}

nlohmann::json cursor(const std::optional<std::int64_t>& next) {
    return next ? nlohmann::json(std::to_string(*next)) : nlohmann::json(nullptr);
}

}  // namespace

admin_api::admin_api(keys::key_service& keys, storage::store& store, const auth::admin_authenticator& auth,
                     std::vector<std::string> cors_origins, offload run_blocking)
    : keys_(keys), store_(store), auth_(auth), cors_origins_(std::move(cors_origins)), run_blocking_(std::move(run_blocking)) {}

bool admin_api::origin_allowed(std::string_view origin) const {
    return std::find(cors_origins_.begin(), cors_origins_.end(), origin) != cors_origins_.end();
}

void admin_api::apply_cors(const web::request_context& ctx, web::response& res) const {
    const auto origin = ctx.req[web::bhttp::field::origin];
    if (origin.empty()) return;
    res.set(web::bhttp::field::vary, "Origin");
    if (!origin_allowed(std::string_view(origin.data(), origin.size()))) return;
    res.set(web::bhttp::field::access_control_allow_origin, origin);
    res.set(web::bhttp::field::access_control_expose_headers, "X-Request-Id, Retry-After");
}

void admin_api::add(web::router& routes, verb method, const std::string& pattern, admin_handler h) {
    auto& methods = methods_by_pattern_[pattern];
    if (methods.empty()) {
        add_preflight(routes, pattern);
    } else {
        methods += ", ";
    }
    methods += std::string(web::bhttp::to_string(method));
    routes.add(method, pattern, admin_body_limit, [this, h](web::request_context& ctx, web::responder done) {
        const auto authorization = ctx.req[web::bhttp::field::authorization];
        const auto token_id = auth_.authenticate(std::string_view(authorization.data(), authorization.size()));
        if (!token_id) {
            auto res = web::error_response(
                ctx, {"unauthorized",
                      auth_.enabled() ? "A valid admin bearer token is required."
                                      : "The admin API is disabled: no admin token is configured (set CC_ADMIN_TOKEN).",
                      {}});
            res.set(web::bhttp::field::www_authenticate, "Bearer");
            apply_cors(ctx, res);
            // Repeated guesses from one address are answered later (still 401), off the network thread.
            return auth_.answer_failure(ctx.client_ip, !authorization.empty(),
                                        [done, res = std::move(res)]() mutable { done(std::move(res)); });
        }
        // Storage calls block: run them off the network threads.
        run_blocking_([this, h, &ctx, done, who = keys::actor{*token_id, ctx.client_ip}] {
            web::response res;
            try {
                res = h(ctx, who);
            } catch (const storage::storage_error& e) {
                ops::log(spdlog::level::err, "admin storage error", {{"request_id", ctx.request_id}, {"error", e.what()}});
                res = web::error_response(ctx, {"unavailable", "Storage is unavailable; nothing was changed. Retry shortly.", {}, 1});
            } catch (const std::exception& e) {
                ops::log(spdlog::level::err, "admin handler failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
                res = web::error_response(ctx, {"internal_error", "An unexpected error occurred.", {}});
            }
            apply_cors(ctx, res);
            done(std::move(res));
        });
    });
}

void admin_api::add_preflight(web::router& routes, const std::string& pattern) {
    routes.add(verb::options, pattern, admin_body_limit, [this, pattern](web::request_context& ctx, web::responder done) {
        const auto origin = ctx.req[web::bhttp::field::origin];
        if (!origin.empty() && !origin_allowed(std::string_view(origin.data(), origin.size()))) {
            auto res = web::error_response(ctx, {"origin_not_allowed", "This origin may not call the admin API.", {}});
            res.set(web::bhttp::field::vary, "Origin");
            return done(std::move(res));
        }
        auto res = no_content();
        const auto& methods = methods_by_pattern_.at(pattern);
        res.set(web::bhttp::field::allow, methods + ", OPTIONS");
        if (!origin.empty()) {
            res.set(web::bhttp::field::access_control_allow_origin, origin);
            res.set(web::bhttp::field::access_control_allow_methods, methods);
            res.set(web::bhttp::field::access_control_allow_headers, "Authorization, Content-Type, X-Request-Id");
            res.set(web::bhttp::field::access_control_max_age, "600");
            res.set(web::bhttp::field::vary, "Origin");
        }
        done(std::move(res));
    });
}

void admin_api::register_routes(web::router& routes) {
    using namespace std::placeholders;
    const auto with_actor = [this](auto method) {
        return [this, method](web::request_context& ctx, const keys::actor& who) { return (this->*method)(ctx, who); };
    };
    const auto without_actor = [this](auto method) {
        return [this, method](web::request_context& ctx, const keys::actor&) { return (this->*method)(ctx); };
    };
    add(routes, verb::get, "/admin/domains", without_actor(&admin_api::list_domains));
    add(routes, verb::put, "/admin/domains/{domain}", with_actor(&admin_api::put_domain));
    add(routes, verb::get, "/admin/domains/{domain}", without_actor(&admin_api::get_domain));
    add(routes, verb::delete_, "/admin/domains/{domain}", with_actor(&admin_api::delete_domain));
    add(routes, verb::post, "/admin/keys", with_actor(&admin_api::create_key));
    add(routes, verb::get, "/admin/keys", without_actor(&admin_api::list_keys));
    add(routes, verb::get, "/admin/keys/{id}", without_actor(&admin_api::get_key));
    add(routes, verb::patch, "/admin/keys/{id}", with_actor(&admin_api::rename_key));
    add(routes, verb::delete_, "/admin/keys/{id}", [this](web::request_context& ctx, const keys::actor& who) {
        const auto result = keys_.delete_key(ctx.param("id"), who);
        return result.ok() ? no_content() : web::error_response(ctx, result.error());
    });
    add(routes, verb::post, "/admin/keys/{id}/revoke", [this](web::request_context& ctx, const keys::actor& who) {
        return respond(ctx, keys_.revoke_key(ctx.param("id"), who), status::ok, [](const auto& k) { return to_json(k); });
    });
    add(routes, verb::post, "/admin/keys/{id}/restore", [this](web::request_context& ctx, const keys::actor& who) {
        return respond(ctx, keys_.restore_key(ctx.param("id"), who), status::ok, [](const auto& k) { return to_json(k); });
    });
    add(routes, verb::post, "/admin/keys/{id}/roll", with_actor(&admin_api::roll_key));
    add(routes, verb::get, "/admin/events", without_actor(&admin_api::list_events));
    add(routes, verb::get, "/admin/audit", without_actor(&admin_api::list_audit));
}

web::response admin_api::put_domain(web::request_context& ctx, const keys::actor& who) {
    ctx.log_domain = ctx.param("domain");
    const auto body = read_object(ctx.req, {"plan"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<events::field_problem> problems;
    const auto plan = string_field(body.value(), "plan", true, problems);
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    return respond(ctx, keys_.put_domain(ctx.param("domain"), *plan, who), status::ok,
                   [](const auto& d) { return to_json(d); });
}

web::response admin_api::list_domains(web::request_context& ctx) {
    return respond(ctx, keys_.list_domains(), status::ok, [](const auto& all) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& d : all) list.push_back(to_json(d));
        return nlohmann::json{{"domains", std::move(list)}};
    });
}

web::response admin_api::get_domain(web::request_context& ctx) {
    ctx.log_domain = ctx.param("domain");
    return respond(ctx, keys_.get_domain(ctx.param("domain")), status::ok, [](const auto& d) { return to_json(d); });
}

web::response admin_api::delete_domain(web::request_context& ctx, const keys::actor& who) {
    ctx.log_domain = ctx.param("domain");
    const auto result = keys_.delete_domain(ctx.param("domain"), who);
    return result.ok() ? no_content() : web::error_response(ctx, result.error());
}

web::response admin_api::create_key(web::request_context& ctx, const keys::actor& who) {
    const auto body = read_object(ctx.req, {"domain", "name", "expires_at"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<events::field_problem> problems;
    const auto domain = string_field(body.value(), "domain", true, problems);
    const auto name = string_field(body.value(), "name", true, problems);
    const auto expires_text = string_field(body.value(), "expires_at", false, problems);
    std::optional<util::millis> expires_at;
    if (expires_text) {
        expires_at = util::parse_rfc3339(*expires_text);
        if (!expires_at) problems.push_back({"expires_at", "must be an RFC 3339 date-time"});
    }
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    ctx.log_domain = *domain;
    return respond(ctx, keys_.create_key(*domain, *name, expires_at, who), status::created, [](const auto& created) {
        auto json = to_json(created.key);
        json["key"] = created.value;  // the only time the full key is shown
        return json;
    });
}

web::response admin_api::list_keys(web::request_context& ctx) {
    const auto domain = web::query_param(query_of(ctx), "domain");
    if (!domain || domain->empty()) {
        return web::error_response(ctx, util::validation_failure({{"domain", "the domain query parameter is required"}}));
    }
    ctx.log_domain = *domain;
    return respond(ctx, keys_.list_keys(*domain), status::ok, [](const keys::key_listing& listing) {
        auto json = to_json(listing.domain);
        json.erase("created_at");
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& k : listing.keys) keys.push_back(to_json(k));
        json["keys"] = std::move(keys);
        return json;
    });
}

web::response admin_api::get_key(web::request_context& ctx) {
    return respond(ctx, keys_.get_key(ctx.param("id")), status::ok, [](const auto& k) { return to_json(k); });
}

web::response admin_api::rename_key(web::request_context& ctx, const keys::actor& who) {
    const auto body = read_object(ctx.req, {"name"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<events::field_problem> problems;
    const auto name = string_field(body.value(), "name", true, problems);
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    return respond(ctx, keys_.rename_key(ctx.param("id"), *name, who), status::ok, [](const auto& k) { return to_json(k); });
}

web::response admin_api::roll_key(web::request_context& ctx, const keys::actor& who) {
    const auto body = read_object(ctx.req, {"grace_seconds"}, true);
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::int64_t grace = 86'400;
    if (const auto it = body.value().find("grace_seconds"); it != body.value().end() && !it->is_null()) {
        if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 2'592'000) {
            return web::error_response(
                ctx, util::validation_failure({{"grace_seconds", "must be a whole number of seconds from 0 to 2592000 (30 days)"}}));
        }
        grace = it->get<std::int64_t>();
    }
    return respond(ctx, keys_.roll_key(ctx.param("id"), grace * 1000, who), status::created, [](const auto& created) {
        auto json = to_json(created.key);
        json["key"] = created.value;
        return json;
    });
}

web::response admin_api::list_events(web::request_context& ctx) {
    std::vector<events::field_problem> problems;
    const auto q = listing_query_of(ctx, problems);
    if (!q) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    const auto page = store_.list_events(*q);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : page.items) list.push_back(to_json(e));
    return web::json_response(status::ok, {{"events", std::move(list)}, {"next", cursor(page.next)}});
}

web::response admin_api::list_audit(web::request_context& ctx) {
    std::vector<events::field_problem> problems;
    const auto q = listing_query_of(ctx, problems);
    if (!q) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    const auto page = store_.list_audit(*q);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : page.items) list.push_back(to_json(a));
    return web::json_response(status::ok, {{"entries", std::move(list)}, {"next", cursor(page.next)}});
}

}  // namespace cc::api
