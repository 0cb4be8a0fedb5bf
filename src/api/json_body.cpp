#include "cc/api/json_body.hpp"

#include <algorithm>

#include "cc/events/json_reader.hpp"

namespace cc::api {

util::outcome<nlohmann::json> read_object(const web::request& req, std::initializer_list<std::string_view> allowed,
                                          bool optional) {
    const auto& body = req.body();
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
        if (optional) return nlohmann::json::object();
        return util::validation_failure({{"(body)", "a JSON object is required"}});
    }
    const auto type = req[web::bhttp::field::content_type];
    if (!type.empty() && type.substr(0, 16) != "application/json") {
        return util::failure{util::error_code::unsupported_media_type, "Send Content-Type: application/json.", {}};
    }
    std::string error;
    auto doc = events::read_json(body, error);
    if (!doc) return util::failure{util::error_code::invalid_json, error, {}};
    if (!doc->root.is_object()) return util::validation_failure({{"(body)", "must be a JSON object"}});
    std::vector<util::field_problem> problems;
    for (const auto& [name, value] : doc->root.items()) {
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            problems.push_back({name, "is not a known field"});
        }
    }
    if (!problems.empty()) return util::validation_failure(std::move(problems));
    return std::move(doc->root);
}

std::optional<std::string> string_field(const nlohmann::json& body, const char* name, bool required,
                                        std::vector<util::field_problem>& problems) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        if (required) problems.push_back({name, "is required"});
        return std::nullopt;
    }
    if (!it->is_string()) {
        problems.push_back({name, "must be a string"});
        return std::nullopt;
    }
    return it->get<std::string>();
}

}  // namespace cc::api
