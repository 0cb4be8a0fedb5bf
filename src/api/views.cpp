#include "cc/api/views.hpp"

#include "cc/events/decimal.hpp"
#include "cc/util/rfc3339.hpp"

namespace cc::api {
namespace {

nlohmann::json text_or_null(const std::optional<std::string>& text) {
    return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json time_or_null(const std::optional<util::millis>& at) {
    return at ? nlohmann::json(util::format_rfc3339(*at)) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const keys::domain_view& d) {
    return {{"domain", d.domain.domain},
            {"plan", d.domain.plan},
            {"key_limit", d.key_limit ? nlohmann::json(*d.key_limit) : nlohmann::json(nullptr)},
            {"active_keys", d.active_keys},
            {"created_at", util::format_rfc3339(d.domain.created_at)}};
}

nlohmann::json to_json(const keys::key_view& view) {
    const auto& k = view.key;
    return {{"id", k.id},
            {"domain", k.domain},
            {"name", k.name},
            {"prefix", k.prefix},
            {"status", view.status},
            {"created_at", util::format_rfc3339(k.created_at)},
            {"last_used_at", time_or_null(k.last_used_at)},
            {"last_used_ip", text_or_null(k.last_used_ip)},
            {"revoked_at", time_or_null(k.revoked_at)},
            {"expires_at", time_or_null(k.expires_at)},
            {"rolled_to", text_or_null(k.rolled_to)},
            {"allowed_ips", k.allowed_ips},
            {"exposed_at", time_or_null(k.exposed_at)},
            {"exposed_origin", text_or_null(k.exposed_origin)}};
}

nlohmann::json to_json(const keys::created_key& created) {
    auto json = to_json(created.key);
    json["key"] = created.value;  // the only time the full key is shown
    if (created.rolled_from) json["rolled_from"] = to_json(*created.rolled_from);
    return json;
}

nlohmann::json to_json(const keys::key_listing& listing) {
    auto json = to_json(listing.domain);
    json.erase("created_at");
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& k : listing.keys) keys.push_back(to_json(k));
    json["keys"] = std::move(keys);
    return json;
}

bool is_json_number(std::string_view text) {
    std::size_t i = 0;
    const auto digits = [&] {
        const auto from = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        return i > from;
    };
    if (i < text.size() && text[i] == '-') ++i;
    if (i < text.size() && text[i] == '0') {
        ++i;
    } else if (!digits()) {
        return false;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == text.size();
}

std::string event_json_text(const storage::event_record& r) {
    const auto& e = r.event;
    nlohmann::json properties = nullptr;
    if (e.properties) properties = nlohmann::json::parse(*e.properties, nullptr, false);
    const nlohmann::json json = {{"event_id", text_or_null(e.event_id)},
                                 {"event", e.name},
                                 {"domain", r.domain},
                                 {"key_id", r.key_id},
                                 {"key_name", text_or_null(r.key_name)},
                                 {"key_prefix", text_or_null(r.key_prefix)},
                                 {"email", text_or_null(e.email)},
                                 {"email_sha256", text_or_null(e.email_sha256)},
                                 {"phone", text_or_null(e.phone)},
                                 {"phone_sha256", text_or_null(e.phone_sha256)},
                                 {"external_id", text_or_null(e.external_id)},
                                 {"click_id", text_or_null(e.click_id)},
                                 {"value_decimal", text_or_null(e.value)},
                                 {"currency", text_or_null(e.currency)},
                                 {"timestamp", util::format_rfc3339(e.occurred_at)},
                                 {"received_at", util::format_rfc3339(r.received_at)},
                                 {"properties", properties},
                                 {"raw", e.raw}};
    auto text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // nlohmann keeps numbers as doubles, which would round 9007199254740.993: write the
    // stored decimal text itself as the number. It is checked to be JSON number syntax,
    // so the document stays valid whatever the store holds.
    std::string value = "null";
    if (e.value) {
        if (is_json_number(*e.value)) {
            value = *e.value;
        } else if (auto canonical = events::normalize_decimal(*e.value); canonical && is_json_number(*canonical)) {
            value = *canonical;
        }
    }
    return "{\"value\":" + value + "," + text.substr(1);
}

nlohmann::json to_json(const storage::audit_record& a) {
    nlohmann::json details = nullptr;
    if (a.details) details = nlohmann::json::parse(*a.details, nullptr, false);
    return {{"id", a.id},
            {"at", util::format_rfc3339(a.at)},
            {"action", a.action},
            {"actor", a.actor},
            {"client_ip", text_or_null(a.client_ip)},
            {"domain", text_or_null(a.domain)},
            {"key_id", text_or_null(a.key_id)},
            {"details", details}};
}

}  // namespace cc::api
