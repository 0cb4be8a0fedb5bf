#include "cc/web/router.hpp"

#include <algorithm>

namespace cc::web {
namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t start = path.starts_with('/') ? 1 : 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return out;
}

/// @brief Matches one pattern; fills `params` on success.
bool matches(std::string_view pattern, std::string_view path, std::vector<std::pair<std::string, std::string>>& params) {
    const auto want = segments(pattern);
    const auto have = segments(path);
    if (want.size() != have.size()) return false;
    std::vector<std::pair<std::string, std::string>> found;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i].starts_with('{') && want[i].ends_with('}')) {
            auto value = percent_decode(have[i], false);
            if (!value || value->empty()) return false;
            found.emplace_back(std::string(want[i].substr(1, want[i].size() - 2)), std::move(*value));
        } else if (want[i] != have[i]) {
            return false;
        }
    }
    params = std::move(found);
    return true;
}

}  // namespace

void router::add(bhttp::verb method, std::string pattern, std::size_t body_limit, handler h, header_check check) {
    routes_.push_back({method, std::move(pattern), body_limit, std::move(h), std::move(check)});
}

route_match router::match(bhttp::verb method, std::string_view path) const {
    route_match result;
    result.pattern = "unmatched";
    result.body_limit = unmatched_body_limit;
    // HEAD is GET without the body (RFC 9110 §9.3.2), unless a route takes HEAD itself.
    const bool head = method == bhttp::verb::head &&
                      std::none_of(routes_.begin(), routes_.end(), [](const route& r) { return r.method == bhttp::verb::head; });
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& r : routes_) {
        if (!matches(r.pattern, path, params)) continue;
        if (r.method == method || (head && r.method == bhttp::verb::get)) {
            result.found = &r;
            result.params = std::move(params);
            result.pattern = r.pattern;
            result.body_limit = r.body_limit;
            result.allow.clear();
            return result;
        }
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += std::string(bhttp::to_string(r.method));
        if (r.method == bhttp::verb::get) result.allow += ", HEAD";
        result.pattern = r.pattern;
    }
    // One trailing slash names the same resource ("/__cc/inbound/" is "/__cc/inbound"),
    // unless a route is registered with the slash itself ("/dashboard/").
    if (!result.found && result.allow.empty() && path.size() > 1 && path.ends_with('/')) {
        const auto without = path.substr(0, path.size() - 1);
        if (!without.ends_with('/')) return match(method, without);  // one slash only
    }
    return result;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    std::optional<std::string> found;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        const auto key = percent_decode(pair.substr(0, eq), true);
        if (key && *key == name) {
            found = eq == std::string_view::npos ? std::optional<std::string>("") : percent_decode(pair.substr(eq + 1), true);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return found;
}

}  // namespace cc::web
