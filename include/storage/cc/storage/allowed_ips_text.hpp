#pragma once
#include <optional>
#include <string>
#include <vector>

// A key's allowed IPs are stored as one comma-separated text of normalized CIDR blocks
// (NULL: any address), the same in both backends.
namespace cc::storage {

/// @brief The stored text of `ips`; nullopt (NULL) for an empty list.
inline std::optional<std::string> join_allowed_ips(const std::vector<std::string>& ips) {
    if (ips.empty()) return std::nullopt;
    std::string joined;
    for (const auto& ip : ips) {
        if (!joined.empty()) joined += ',';
        joined += ip;
    }
    return joined;
}

/// @brief The list of a stored text; empty for NULL.
inline std::vector<std::string> split_allowed_ips(const std::optional<std::string>& text) {
    std::vector<std::string> out;
    if (!text) return out;
    std::size_t start = 0;
    while (start < text->size()) {
        const auto comma = text->find(',', start);
        const auto end = comma == std::string::npos ? text->size() : comma;
        if (end > start) out.push_back(text->substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace cc::storage
