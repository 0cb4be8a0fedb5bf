#include "cc/keys/domain_name.hpp"

#include "cc/util/text.hpp"

namespace cc::keys {
namespace {

using util::ascii_lower;

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

}  // namespace

std::optional<std::string> normalize_domain(std::string_view text) {
    if (text.empty() || text.size() > 253) return std::nullopt;
    std::string name;
    name.reserve(text.size());
    for (char c : text) name.push_back(ascii_lower(c));
    int labels = 0;
    std::size_t start = 0;
    while (true) {
        const auto dot = name.find('.', start);
        const auto label = std::string_view(name).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!valid_label(label)) return std::nullopt;
        ++labels;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (labels < 2) return std::nullopt;
    return name;
}

std::string host_without_port(std::string_view host_header) {
    std::string_view host = host_header;
    if (!host.empty() && host.front() == '[') {
        // An IPv6 literal is never a registered domain; keep it whole.
        return std::string(host);
    }
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    std::string out;
    out.reserve(host.size());
    for (char c : host) out.push_back(ascii_lower(c));
    return out;
}

}  // namespace cc::keys
