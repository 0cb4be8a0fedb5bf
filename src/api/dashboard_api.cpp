#include "cc/api/dashboard_api.hpp"

#include <algorithm>

namespace cc::api {
namespace {

using web::bhttp::field;
using web::bhttp::status;
using web::bhttp::verb;

/// @brief Headers on every dashboard answer: no inline script or style can run, the
/// page cannot be framed (clickjacking), types are not sniffed, and no URL leaks in a
/// Referer.
void set_security_headers(web::response& res) {
    res.set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
}

/// @brief RFC 9110 §13.1.2: If-None-Match uses the weak comparison, over a list of
/// entity tags or `*`.
bool none_match_names(std::string_view header, std::string_view etag) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        auto tag = header.substr(0, comma);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
        if (tag == "*") return true;
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        if (tag == etag) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

const dashboard_asset* find_asset(std::string_view name) {
    if (name.empty()) name = "index.html";
    const auto& all = embedded_dashboard_assets();
    const auto it = std::find_if(all.begin(), all.end(), [name](const dashboard_asset& a) { return a.name == name; });
    return it == all.end() ? nullptr : &*it;
}

}  // namespace

web::response dashboard_response(const web::request& req, std::string_view name, const std::string& request_id) {
    const auto* asset = find_asset(name);
    if (!asset) {
        auto res = web::error_response(request_id, req.version(),
                                       {util::error_code::not_found, "The dashboard has no file named " + std::string(name) + ".", {}});
        set_security_headers(res);
        return res;
    }
    web::response res{status::ok, req.version()};
    // Asset names carry no hash, so a browser revalidates each time (a cheap 304): a new
    // binary never runs with last version's scripts.
    res.set(field::cache_control, "no-cache");
    res.set(field::etag, boost::beast::string_view(asset->etag.data(), asset->etag.size()));
    set_security_headers(res);
    const auto if_none_match = req[field::if_none_match];
    if (none_match_names(std::string_view(if_none_match.data(), if_none_match.size()), asset->etag)) {
        res.result(status::not_modified);
        return res;
    }
    res.set(field::content_type, boost::beast::string_view(asset->content_type.data(), asset->content_type.size()));
    res.body() = std::string(asset->body);
    return res;
}

void dashboard_api::register_routes(web::router& routes) {
    routes.add(verb::get, "/dashboard", 0, [](web::request_context& ctx, web::responder done) {
        web::response res{status::moved_permanently, ctx.req.version()};
        res.set(field::location, "/dashboard/");
        res.set(field::cache_control, "no-cache");
        set_security_headers(res);
        done(std::move(res));
    });
    routes.add(verb::get, "/dashboard/", 0, [](web::request_context& ctx, web::responder done) {
        done(dashboard_response(ctx.req, "", ctx.request_id));
    });
    routes.add(verb::get, "/dashboard/{asset}", 0, [](web::request_context& ctx, web::responder done) {
        done(dashboard_response(ctx.req, ctx.param("asset"), ctx.request_id));
    });
}

}  // namespace cc::api
