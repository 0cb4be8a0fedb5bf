#include "cc/api/admin_api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "cc/api/controls_api.hpp"
#include "cc/api/json_body.hpp"
#include "cc/api/views.hpp"
#include "cc/keys/domain_name.hpp"
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

/// @brief A query string's parameters, percent-decoded, in order.
struct query_params {
    std::map<std::string, std::string, std::less<>> values;
    std::vector<util::field_problem> problems;  ///< malformed, repeated or unknown names

    const std::string* get(std::string_view name) const {
        const auto it = values.find(name);
        return it == values.end() ? nullptr : &it->second;
    }
};

/// @brief Parses the query string; a name outside `allowed`, a repeated name or a bad
/// escape is a problem, so no parameter is ever silently ignored.
query_params parse_query(std::string_view query, const std::vector<std::string>& allowed) {
    query_params out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2", a trailing "&"
        const auto eq = pair.find('=');
        const auto name = web::percent_decode(pair.substr(0, eq), true);
        const auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                        : web::percent_decode(pair.substr(eq + 1), true);
        if (!name || !value) {
            out.problems.push_back({name ? *name : "query", "has a malformed percent escape"});
            continue;
        }
        if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
            out.problems.push_back({*name, "is not a parameter of this route"});
            continue;
        }
        if (!out.values.emplace(*name, *value).second) out.problems.push_back({*name, "must be given at most once"});
    }
    return out;
}

query_params params_of(const web::request_context& ctx, const std::vector<std::string>& allowed) {
    return parse_query(query_of(ctx), allowed);
}

bool parse_int(const std::string& text, std::int64_t& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

/// @brief `limit`: a whole number from 1 to `max`, else `fallback` when absent.
int limit_of(const query_params& q, int fallback, int max, std::vector<util::field_problem>& problems) {
    const auto* text = q.get("limit");
    if (!text) return fallback;
    std::int64_t n = 0;
    if (!parse_int(*text, n) || n < 1 || n > max) {
        problems.push_back({"limit", "must be a whole number from 1 to " + std::to_string(max)});
        return fallback;
    }
    return static_cast<int>(n);
}

/// @brief A domain named in the query: required or optional, lower-cased, checked.
std::optional<std::string> domain_of(const query_params& q, bool required, std::vector<util::field_problem>& problems) {
    const auto* text = q.get("domain");
    if (!text || text->empty()) {
        if (required) problems.push_back({"domain", "the domain query parameter is required"});
        return std::nullopt;
    }
    auto name = keys::normalize_domain(*text);
    if (!name) problems.push_back({"domain", "must be a host name in punycode form, 1-253 characters"});
    return name;
}

/// @brief Fills `limit` and the `before` cursor of a newest-first listing.
void page_of(const query_params& q, storage::listing_query& out, std::vector<util::field_problem>& problems) {
    out.limit = limit_of(q, 50, 500, problems);
    if (const auto* before = q.get("before")) {
        std::int64_t n = 0;
        if (!parse_int(*before, n) || n < 1) {
            problems.push_back({"before", "must be a cursor returned as `next` by a previous page"});
        } else {
            out.before = n;
        }
    }
}

bool is_key_id(const std::string& text) {
    if (text.size() < 5 || text.size() > 64 || text.compare(0, 4, "key_") != 0) return false;
    return std::all_of(text.begin() + 4, text.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

/// @brief The event filters of GET /admin/events, each checked like the event's own field.
void event_filters_of(const query_params& q, storage::listing_query& out, std::vector<util::field_problem>& problems) {
    if (const auto* key_id = q.get("key_id")) {
        if (!is_key_id(*key_id)) problems.push_back({"key_id", "must be a key id (key_ and letters or digits)"});
        else out.key_id = *key_id;
    }
    if (const auto* name = q.get("event")) {
        const auto first = name->find_first_not_of(' ');
        const auto trimmed = first == std::string::npos ? std::string() : name->substr(first, name->find_last_not_of(' ') - first + 1);
        const bool ok = !trimmed.empty() && trimmed.size() <= 64 &&
                        std::all_of(trimmed.begin(), trimmed.end(), [](unsigned char c) {
                            return std::isalnum(c) != 0 || c == '_' || c == '.' || c == ':' || c == '-' || c == ' ';
                        });
        if (!ok) problems.push_back({"event", "must be 1-64 characters of letters, digits, _ . : - and space"});
        else out.event_name = trimmed;
    }
    if (const auto* event_id = q.get("event_id")) {
        if (event_id->empty() || event_id->size() > 128) problems.push_back({"event_id", "must be 1-128 characters"});
        else out.event_id = *event_id;
    }
    for (const char* bound : {"since", "until"}) {
        if (const auto* text = q.get(bound)) {
            auto at = util::parse_rfc3339(*text);
            if (!at) problems.push_back({bound, "must be an RFC 3339 date-time"});
            else (std::string_view(bound) == "since" ? out.since : out.until) = *at;
        }
    }
    if (out.since && out.until && *out.since >= *out.until) problems.push_back({"until", "must be later than since"});
}

nlohmann::json cursor(const std::optional<std::int64_t>& next) {
    return next ? nlohmann::json(std::to_string(*next)) : nlohmann::json(nullptr);
}

/// @brief A 200 whose body is JSON text already serialized (event listings, see views.hpp).
web::response json_text_response(std::string body) {
    web::response res{status::ok, 11};
    res.set(web::bhttp::field::content_type, "application/json");
    res.set(web::bhttp::field::cache_control, "no-store");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

web::response invalid(const web::request_context& ctx, std::vector<util::field_problem> problems) {
    return web::error_response(ctx, util::validation_failure(std::move(problems)));
}

nlohmann::json created_json(const keys::created_key& created) { return to_json(created); }

}  // namespace

admin_api::admin_api(keys::key_service& keys, storage::store& store, const auth::admin_authenticator& auth,
                     std::vector<std::string> cors_origins, offload run_blocking, keys::key_controls* controls)
    : keys_(keys), store_(store), controls_(controls), guard_(auth, std::move(run_blocking)),
      cors_(std::make_shared<const web::cors_policy>(
          std::move(cors_origins),
          util::failure{util::error_code::origin_not_allowed, "This origin may not call the admin API.", {}})),
      controls_routes_(keys, store) {}

void admin_api::add(web::route_group& group, verb method, const std::string& pattern, std::vector<std::string> params,
                    admin_handler h) {
    // Checked before the handler runs, so no route ever ignores a parameter it was sent.
    auto checked = [params = std::move(params), h = std::move(h)](web::request_context& ctx, const keys::actor& who) {
        if (auto q = params_of(ctx, params); !q.problems.empty()) return invalid(ctx, std::move(q.problems));
        return h(ctx, who);
    };
    group.add(method, pattern, guard_.wrap(std::move(checked)));
}

void admin_api::register_routes(web::router& routes) {
    web::route_group group(routes, admin_body_limit, cors_);
    const auto with_actor = [this](auto method) {
        return [this, method](web::request_context& ctx, const keys::actor& who) { return (this->*method)(ctx, who); };
    };
    const auto without_actor = [this](auto method) {
        return [this, method](web::request_context& ctx, const keys::actor&) { return (this->*method)(ctx); };
    };
    using params = std::vector<std::string>;
    add(group, verb::get, "/admin/domains", params{"limit", "after"}, without_actor(&admin_api::list_domains));
    add(group, verb::put, "/admin/domains/{domain}", params{}, with_actor(&admin_api::put_domain));
    add(group, verb::get, "/admin/domains/{domain}", params{}, without_actor(&admin_api::get_domain));
    add(group, verb::delete_, "/admin/domains/{domain}", params{}, with_actor(&admin_api::delete_domain));
    add(group, verb::post, "/admin/keys", params{}, with_actor(&admin_api::create_key));
    add(group, verb::get, "/admin/keys", params{"domain"}, without_actor(&admin_api::list_keys));
    add(group, verb::get, "/admin/keys/{id}", params{}, without_actor(&admin_api::get_key));
    add(group, verb::patch, "/admin/keys/{id}", params{}, with_actor(&admin_api::rename_key));
    add(group, verb::delete_, "/admin/keys/{id}", params{}, [this](web::request_context& ctx, const keys::actor& who) {
        const auto result = keys_.delete_key(ctx.param("id"), who);
        return result.ok() ? no_content() : web::error_response(ctx, result.error());
    });
    add(group, verb::post, "/admin/keys/{id}/revoke", params{}, [this](web::request_context& ctx, const keys::actor& who) {
        return respond(ctx, keys_.revoke_key(ctx.param("id"), who), status::ok, [](const auto& k) { return to_json(k); });
    });
    add(group, verb::post, "/admin/keys/{id}/restore", params{}, [this](web::request_context& ctx, const keys::actor& who) {
        return respond(ctx, keys_.restore_key(ctx.param("id"), who), status::ok, [](const auto& k) { return to_json(k); });
    });
    add(group, verb::post, "/admin/keys/{id}/roll", params{}, with_actor(&admin_api::roll_key));
    add(group, verb::get, "/admin/events",
        params{"domain", "limit", "before", "key_id", "event", "event_id", "since", "until"},
        without_actor(&admin_api::list_events));
    add(group, verb::get, "/admin/events/{event_id}", params{"domain"}, without_actor(&admin_api::get_event));
    add(group, verb::get, "/admin/audit", params{"domain", "limit", "before"}, without_actor(&admin_api::list_audit));
    controls_routes_.register_routes(group, guard_);
}

web::response admin_api::put_domain(web::request_context& ctx, const keys::actor& who) {
    ctx.log_domain = ctx.param("domain");
    const auto body = read_object(ctx.req, {"plan"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<util::field_problem> problems;
    const auto plan = string_field(body.value(), "plan", true, problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    return respond(ctx, keys_.put_domain(ctx.param("domain"), *plan, who), status::ok,
                   [](const auto& d) { return to_json(d); });
}

web::response admin_api::list_domains(web::request_context& ctx) {
    const auto q = params_of(ctx, {"limit", "after"});
    std::vector<util::field_problem> problems;
    const int limit = limit_of(q, 100, 500, problems);
    std::string after;
    if (const auto* text = q.get("after")) {
        if (auto name = keys::normalize_domain(*text)) after = *name;
        else problems.push_back({"after", "must be a cursor returned as `next` by a previous page"});
    }
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    return respond(ctx, keys_.list_domains(limit, after), status::ok, [](const keys::domain_page& page) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& d : page.domains) list.push_back(to_json(d));
        return nlohmann::json{{"domains", std::move(list)},
                              {"next", page.next ? nlohmann::json(*page.next) : nlohmann::json(nullptr)}};
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
    const auto body = read_object(ctx.req, {"domain", "name", "expires_at", "allowed_ips"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<util::field_problem> problems;
    const auto domain = string_field(body.value(), "domain", true, problems);
    const auto name = string_field(body.value(), "name", true, problems);
    const auto expires_text = string_field(body.value(), "expires_at", false, problems);
    std::optional<util::millis> expires_at;
    if (expires_text) {
        expires_at = util::parse_rfc3339(*expires_text);
        if (!expires_at) problems.push_back({"expires_at", "must be an RFC 3339 date-time"});
    }
    const auto allowed_ips = allowed_ips_field(body.value(), problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    ctx.log_domain = *domain;
    return respond(ctx, keys_.create_key(*domain, *name, expires_at, who, allowed_ips.value_or(std::vector<std::string>{})),
                   status::created, created_json);
}

web::response admin_api::list_keys(web::request_context& ctx) {
    std::vector<util::field_problem> problems;
    const auto domain = domain_of(params_of(ctx, {"domain"}), true, problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    ctx.log_domain = *domain;
    return respond(ctx, keys_.list_keys(*domain), status::ok, [](const keys::key_listing& listing) { return to_json(listing); });
}

web::response admin_api::get_key(web::request_context& ctx) {
    return respond(ctx, keys_.get_key(ctx.param("id")), status::ok, [](const auto& k) { return to_json(k); });
}

web::response admin_api::rename_key(web::request_context& ctx, const keys::actor& who) {
    const auto body = read_object(ctx.req, {"name", "allowed_ips"});
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::vector<util::field_problem> problems;
    const bool has_ips = body.value().contains("allowed_ips");
    const auto name = string_field(body.value(), "name", !has_ips, problems);
    const auto allowed_ips = allowed_ips_field(body.value(), problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    if (allowed_ips) {
        if (!controls_) return web::error_response(ctx, {util::error_code::internal_error, "Key controls are not available.", {}});
        // Both checked above, so a bad name cannot leave the IPs changed (or the other way round).
        if (name) {
            const auto renamed = keys_.rename_key(ctx.param("id"), *name, who);
            if (!renamed.ok()) return web::error_response(ctx, renamed.error());
        }
        return respond(ctx, controls_->set_allowed_ips(ctx.param("id"), *allowed_ips, who), status::ok,
                       [](const auto& k) { return to_json(k); });
    }
    return respond(ctx, keys_.rename_key(ctx.param("id"), *name, who), status::ok, [](const auto& k) { return to_json(k); });
}

web::response admin_api::roll_key(web::request_context& ctx, const keys::actor& who) {
    const auto body = read_object(ctx.req, {"grace_seconds"}, true);
    if (!body.ok()) return web::error_response(ctx, body.error());
    std::int64_t grace = 86'400;
    if (const auto it = body.value().find("grace_seconds"); it != body.value().end() && !it->is_null()) {
        if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 2'592'000) {
            return invalid(ctx, {{"grace_seconds", "must be a whole number of seconds from 0 to 2592000 (30 days)"}});
        }
        grace = it->get<std::int64_t>();
    }
    return respond(ctx, keys_.roll_key(ctx.param("id"), grace * 1000, who), status::created, created_json);
}

std::optional<web::response> admin_api::check_domain(web::request_context& ctx, const std::string& domain) {
    ctx.log_domain = domain;
    const auto found = keys_.get_domain(domain);
    if (!found.ok()) return web::error_response(ctx, found.error());
    return std::nullopt;
}

web::response admin_api::list_events(web::request_context& ctx) {
    const auto q = params_of(ctx, {"domain", "limit", "before", "key_id", "event", "event_id", "since", "until"});
    std::vector<util::field_problem> problems;
    storage::listing_query query;
    query.domain = domain_of(q, true, problems);
    page_of(q, query, problems);
    event_filters_of(q, query, problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    if (auto refused = check_domain(ctx, *query.domain)) return std::move(*refused);
    const auto page = store_.list_events(query);
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < page.items.size(); ++i) {
        if (i) body += ',';
        body += event_json_text(page.items[i]);
    }
    body += "],\"next\":" + cursor(page.next).dump() + "}";
    return json_text_response(std::move(body));
}

web::response admin_api::get_event(web::request_context& ctx) {
    std::vector<util::field_problem> problems;
    storage::listing_query query;
    query.domain = domain_of(params_of(ctx, {"domain"}), true, problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    if (auto refused = check_domain(ctx, *query.domain)) return std::move(*refused);
    query.event_id = ctx.param("event_id");
    query.limit = 1;
    const auto page = store_.list_events(query);
    if (page.items.empty()) {
        return web::error_response(ctx, {util::error_code::event_not_found, "Domain '" + *query.domain + "' has no stored event with this event_id.", {}});
    }
    return json_text_response(event_json_text(page.items.front()));
}

web::response admin_api::list_audit(web::request_context& ctx) {
    const auto q = params_of(ctx, {"domain", "limit", "before"});
    std::vector<util::field_problem> problems;
    storage::listing_query query;
    query.domain = domain_of(q, false, problems);
    page_of(q, query, problems);
    if (!problems.empty()) return invalid(ctx, std::move(problems));
    if (query.domain) ctx.log_domain = *query.domain;
    const auto page = store_.list_audit(query);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : page.items) list.push_back(to_json(a));
    return web::json_response(status::ok, {{"entries", std::move(list)}, {"next", cursor(page.next)}});
}

}  // namespace cc::api
