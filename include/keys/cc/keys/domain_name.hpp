#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cc::keys {

/// @brief The canonical form of a customer domain: lower-cased ASCII host name
/// (IDNA/punycode), 1-253 characters, at least two labels of 1-63 characters of
/// letters, digits and hyphens, no label starting or ending with a hyphen.
/// nullopt when `text` is not such a name (unicode must be sent as punycode).
std::optional<std::string> normalize_domain(std::string_view text);

/// @brief The host of a Host header value: lower-cased, without port or trailing dot.
std::string host_without_port(std::string_view host_header);

}  // namespace cc::keys
