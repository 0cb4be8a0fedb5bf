#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace cc::events {

/// @brief Deepest nesting read_json accepts (the top-level value is depth 1).
inline constexpr std::size_t max_json_depth = 32;

/// @brief A parsed JSON body plus the exact source text of its fractional `value` numbers.
struct json_document {
    nlohmann::json root;
    /// JSON pointer (e.g. "/value", "/events/3/value") -> the number exactly as written,
    /// for every floating-point number held by an object key named "value". Integers are
    /// exact in `root` already and are not listed.
    std::unordered_map<std::string, std::string> value_texts;
};

/// @brief Parses a JSON body without throwing. Refuses malformed JSON, invalid UTF-8 and
/// nesting deeper than max_json_depth; on refusal returns nullopt and sets `error` to a
/// short human sentence that never quotes the body. Duplicate keys: the last one wins.
std::optional<json_document> read_json(std::string_view body, std::string& error);

/// @brief The captured source text at `pointer`, or nullptr when none was captured
/// (no such value, or it was an integer, string or other non-float).
const std::string* value_text_at(const json_document& document, const std::string& pointer);

/// @brief True when `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF). Shared by the JSON reader and the form decoder.
bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace cc::events
