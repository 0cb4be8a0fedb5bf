#pragma once
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cc::events {

/// @brief Decodes an application/x-www-form-urlencoded body (`a=1&b=hello+world&c=%41`)
/// into a flat JSON object of strings, so form events go through the same validator as
/// JSON ones. `+` is a space; `%XX` is a byte. A repeated key keeps its last value (as
/// with a JSON object's duplicate keys); empty pairs (`a=1&&b=2`) are skipped and a
/// pair without `=` is a key with an empty value. A malformed escape or decoded bytes
/// that are not UTF-8 make it return nullopt with a short `error` that never quotes the body.
std::optional<nlohmann::json> decode_form(std::string_view body, std::string& error);

}  // namespace cc::events
