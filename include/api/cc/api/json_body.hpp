#pragma once
#include <initializer_list>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cc/web/message.hpp"
#include "cc/util/failure.hpp"

namespace cc::api {

/// @brief Reads an admin request body: a JSON object with only the `allowed` fields
/// (an unknown field is a validation error naming it). An empty body reads as {} when
/// `optional` is true.
util::outcome<nlohmann::json> read_object(const web::request& req, std::initializer_list<std::string_view> allowed,
                                          bool optional = false);

/// @brief A string field of a body object, or a problem appended to `problems`.
std::optional<std::string> string_field(const nlohmann::json& body, const char* name, bool required,
                                        std::vector<util::field_problem>& problems);

}  // namespace cc::api
