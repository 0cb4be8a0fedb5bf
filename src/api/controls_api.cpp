// Admin routes of the key controls (SPEC §7): hourly usage of a key and the rejection log.
#include "cc/api/controls_api.hpp"

#include <charconv>

#include "cc/api/views.hpp"
#include "cc/keys/domain_name.hpp"
#include "cc/keys/ip_allowlist.hpp"
#include "cc/util/rfc3339.hpp"

namespace cc::api {
namespace {

using web::bhttp::status;
using web::bhttp::verb;

std::string query_of(const web::request_context& ctx) {
    const auto target = ctx.req.target();
    return std::string(web::split_target(std::string_view(target.data(), target.size())).second);
}

/// @brief Problems for query parameters outside `known` (every admin parameter is checked).
void unknown_parameters(const std::string& query, std::initializer_list<std::string_view> known,
                        std::vector<util::field_problem>& problems) {
    std::string_view rest(query);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        const auto name = web::percent_decode(pair.substr(0, pair.find('=')), true).value_or(std::string(pair));
        if (!name.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
            problems.push_back({name, "is not a known query parameter"});
        }
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
}

std::optional<std::int64_t> whole_number(const std::string& text) {
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return n;
}

nlohmann::json to_json(const storage::rejection_record& r) {
    nlohmann::json details = nlohmann::json::array();
    if (r.details) {
        auto parsed = nlohmann::json::parse(*r.details, nullptr, false);
        if (parsed.is_array()) details = std::move(parsed);
    }
    return {{"id", std::to_string(r.id)},
            {"at", util::format_rfc3339(r.at)},
            {"domain", r.domain},
            {"key_id", r.key_id},
            {"key_prefix", r.key_prefix},
            {"status", r.status},
            {"code", r.code},
            {"details", std::move(details)},
            {"request_id", r.request_id},
            {"client_ip", r.client_ip.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.client_ip)}};
}

}  // namespace

std::optional<std::vector<std::string>> allowed_ips_field(const nlohmann::json& body,
                                                          std::vector<util::field_problem>& problems) {
    const auto it = body.find("allowed_ips");
    if (it == body.end()) return std::nullopt;
    if (it->is_null()) return std::vector<std::string>{};
    if (!it->is_array()) {
        problems.push_back({"allowed_ips", "must be an array of IPv4/IPv6 addresses or CIDR blocks"});
        return std::nullopt;
    }
    std::vector<std::string> entries;
    std::size_t first_problem = problems.size();
    for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& item = (*it)[i];
        if (!item.is_string()) {
            problems.push_back({"allowed_ips[" + std::to_string(i) + "]", "must be a string"});
            entries.emplace_back();
            continue;
        }
        entries.push_back(item.get<std::string>());
    }
    if (problems.size() > first_problem) return std::nullopt;
    auto checked = keys::normalize_allowed_ips(entries);
    if (!checked.problems.empty()) {
        problems.insert(problems.end(), checked.problems.begin(), checked.problems.end());
        return std::nullopt;
    }
    return std::move(checked.normalized);
}

controls_api::controls_api(keys::key_service& keys, storage::store& store) : keys_(keys), store_(store) {}

void controls_api::register_routes(web::route_group& group, const admin_guard& guard) {
    // Each checks its own query string.
    group.add(verb::get, "/admin/keys/{id}/usage",
              guard.wrap([this](web::request_context& ctx, const keys::actor&) { return key_usage(ctx); }));
    group.add(verb::get, "/admin/rejections",
              guard.wrap([this](web::request_context& ctx, const keys::actor&) { return list_rejections(ctx); }));
}

web::response controls_api::key_usage(web::request_context& ctx) {
    const auto query = query_of(ctx);
    std::vector<util::field_problem> problems;
    unknown_parameters(query, {"hours"}, problems);
    std::int64_t hours = 48;
    if (const auto text = web::query_param(query, "hours")) {
        const auto n = whole_number(*text);
        if (!n || *n < 1 || *n > 720) {
            problems.push_back({"hours", "must be a whole number from 1 to 720"});
        } else {
            hours = *n;
        }
    }
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    const auto key = keys_.get_key(ctx.param("id"));
    if (!key.ok()) return web::error_response(ctx, key.error());
    ctx.log_domain = key.value().key.domain;

    // The window ends with the current hour; every hour in it gets an entry, empty or not.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const auto last = now_ms / keys::usage_counter::hour_ms;
    const auto first = last - hours + 1;
    const auto stored = store_.load_usage(key.value().key.id, first, last);
    nlohmann::json list = nlohmann::json::array();
    auto next = stored.begin();
    for (auto h = first; h <= last; ++h) {
        storage::usage_delta counts;
        while (next != stored.end() && next->hour < h) ++next;
        if (next != stored.end() && next->hour == h) counts = *next;
        list.push_back({{"hour", util::format_rfc3339(h * keys::usage_counter::hour_ms)},
                        {"accepted", counts.accepted},
                        {"duplicate", counts.duplicate},
                        {"rejected", counts.rejected},
                        {"auth_failed", counts.auth_failed}});
    }
    return web::json_response(status::ok, {{"key_id", key.value().key.id}, {"hours", std::move(list)}});
}

web::response controls_api::list_rejections(web::request_context& ctx) {
    const auto query = query_of(ctx);
    std::vector<util::field_problem> problems;
    unknown_parameters(query, {"domain", "limit", "before", "request_id"}, problems);
    storage::listing_query q;
    std::optional<std::string> request_id = web::query_param(query, "request_id");
    if (request_id && request_id->empty()) request_id.reset();
    if (auto domain = web::query_param(query, "domain"); domain && !domain->empty()) {
        const auto name = keys::normalize_domain(*domain);
        if (!name) {
            problems.push_back({"domain", "must be a domain name"});
        } else {
            q.domain = *name;
        }
    } else if (!request_id) {
        problems.push_back({"domain", "is required (or request_id)"});
    }
    if (const auto limit = web::query_param(query, "limit")) {
        const auto n = whole_number(*limit);
        if (!n || *n < 1 || *n > 500) {
            problems.push_back({"limit", "must be a whole number from 1 to 500"});
        } else {
            q.limit = static_cast<int>(*n);
        }
    }
    if (const auto before = web::query_param(query, "before"); before && !before->empty()) {
        const auto n = whole_number(*before);
        if (!n || *n < 0) {
            problems.push_back({"before", "must be a cursor returned as `next` by a previous page"});
        } else {
            q.before = *n;
        }
    }
    if (!problems.empty()) return web::error_response(ctx, util::validation_failure(std::move(problems)));
    if (q.domain) {
        ctx.log_domain = *q.domain;
        const auto domain = keys_.get_domain(*q.domain);
        if (!domain.ok()) return web::error_response(ctx, domain.error());
    }
    const auto page = store_.list_rejections(q, request_id);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : page.items) list.push_back(to_json(r));
    return web::json_response(status::ok,
                              {{"rejections", std::move(list)},
                               {"next", page.next ? nlohmann::json(std::to_string(*page.next)) : nlohmann::json(nullptr)}});
}

}  // namespace cc::api
