#pragma once
#include <string_view>
#include <vector>

namespace cc::events {

/// @brief The exact source text of each element of the array held by top-level member
/// `key` of a JSON object, so a batch element can be stored byte for byte as sent.
/// `body` must already be known to be valid JSON (read_json succeeded); returns an empty
/// list when the member is absent or not an array.
std::vector<std::string_view> array_element_texts(std::string_view body, std::string_view key);

}  // namespace cc::events
