#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/events/event.hpp"

namespace cc::api {

/// @brief The optional `allowed_ips` field of a key body: an array of at most 50 IPv4/IPv6
/// addresses or CIDR blocks, normalized (`10.0.0.1` → `10.0.0.1/32`). Absent: nullopt;
/// `[]` or null: an empty list (any address). Problems name the entry.
std::optional<std::vector<std::string>> allowed_ips_field(const nlohmann::json& body,
                                                          std::vector<util::field_problem>& problems);

}  // namespace cc::api
