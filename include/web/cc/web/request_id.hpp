#pragma once
#include <string>
#include <string_view>

namespace cc::web {

/// @brief True for an incoming X-Request-Id worth keeping: 1-128 characters of [A-Za-z0-9._:-].
bool is_valid_request_id(std::string_view id) noexcept;

/// @brief A fresh request id: `req_` + 20 random base62 characters.
std::string new_request_id();

}  // namespace cc::web
