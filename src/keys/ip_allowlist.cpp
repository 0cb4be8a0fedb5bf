#include "cc/keys/ip_allowlist.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cc::keys {
namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const std::array<std::uint8_t, 16>& a) {
    return std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), a.begin());
}

/// @brief Parses an address as IPv4 or IPv6 (no zone, no prefix); sets `v4` when it is
/// IPv4 or IPv4-mapped IPv6, which is then matched as IPv4.
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text, bool& v4) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    const std::string copy(text);  // inet_pton needs a terminated string
    std::array<std::uint8_t, 16> out{};
    in_addr a4{};
    if (inet_pton(AF_INET, copy.c_str(), &a4) == 1) {
        std::copy(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), out.begin());
        std::memcpy(out.data() + 12, &a4, 4);
        v4 = true;
        return out;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, copy.c_str(), &a6) == 1) {
        std::memcpy(out.data(), &a6, 16);
        v4 = is_v4_mapped(out);
        return out;
    }
    return std::nullopt;
}

bool prefix_matches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
    const int whole = bits / 8;
    if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(whole)) != 0) return false;
    const int rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[static_cast<std::size_t>(whole)] & mask) == (b[static_cast<std::size_t>(whole)] & mask);
}

bool host_bits_clear(const std::array<std::uint8_t, 16>& a, int bits) {
    for (int i = bits; i < 128; ++i) {
        if (a[static_cast<std::size_t>(i / 8)] & (0x80 >> (i % 8))) return false;
    }
    return true;
}

}  // namespace

std::string cidr_block::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (v4) {
        inet_ntop(AF_INET, address.data() + 12, text, sizeof text);
        return std::string(text) + "/" + std::to_string(prefix_length - 96);
    }
    inet_ntop(AF_INET6, address.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix_length);
}

std::optional<cidr_block> parse_cidr(std::string_view text, std::string& problem) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    const auto slash = text.find('/');
    cidr_block block;
    const auto address = parse_address(text.substr(0, slash), block.v4);
    if (!address) {
        problem = "must be an IPv4 or IPv6 address or CIDR block (e.g. 203.0.113.7, 10.0.0.0/8, 2001:db8::/32)";
        return std::nullopt;
    }
    block.address = *address;
    // An IPv4 prefix counts within the 32 bits, even on the IPv4-mapped form.
    const bool v4_text = text.substr(0, slash).find(':') == std::string_view::npos;
    const int width = v4_text ? 32 : 128;
    int bits = width;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
        if (digits.empty() || digits.size() > 3 || ec != std::errc() || ptr != digits.data() + digits.size() || bits < 0 ||
            bits > width) {
            problem = "has a prefix length that is not a whole number from 0 to " + std::to_string(width);
            return std::nullopt;
        }
    }
    block.prefix_length = v4_text ? 96 + bits : bits;
    if (block.v4 && !v4_text && block.prefix_length < 96) {
        problem = "is an IPv4-mapped block with a prefix shorter than /96";
        return std::nullopt;
    }
    if (!host_bits_clear(block.address, block.prefix_length)) {
        problem = "has bits set beyond its prefix length (did you mean " +
                  [&] {
                      auto fixed = block;
                      for (int i = fixed.prefix_length; i < 128; ++i) {
                          fixed.address[static_cast<std::size_t>(i / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
                      }
                      return fixed.to_string();
                  }() +
                  "?)";
        return std::nullopt;
    }
    return block;
}

std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) {
    bool v4 = false;
    return parse_address(text, v4);
}

ip_allowlist ip_allowlist::from_entries(const std::vector<std::string>& entries) {
    std::vector<cidr_block> blocks;
    std::string problem;
    for (const auto& e : entries) {
        if (auto b = parse_cidr(e, problem)) blocks.push_back(*b);
    }
    return ip_allowlist(std::move(blocks));
}

bool ip_allowlist::contains(const std::array<std::uint8_t, 16>& address) const {
    return blocks_ && std::any_of(blocks_->begin(), blocks_->end(),
                       [&](const cidr_block& b) { return prefix_matches(address, b.address, b.prefix_length); });
}

bool ip_allowlist::allows(std::string_view client_ip) const {
    if (empty()) return true;
    const auto address = parse_ip(client_ip);
    return address && contains(*address);
}

allowlist_check normalize_allowed_ips(const std::vector<std::string>& entries) {
    allowlist_check out;
    if (entries.size() > max_allowed_ips) {
        out.problems.push_back({"allowed_ips", "must have at most " + std::to_string(max_allowed_ips) + " entries, got " +
                                                   std::to_string(entries.size())});
        return out;
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
        std::string problem;
        const auto block = parse_cidr(entries[i], problem);
        if (!block) {
            // The entry is an address, not a secret: naming it helps find the typo.
            out.problems.push_back({"allowed_ips[" + std::to_string(i) + "]", "'" + entries[i].substr(0, 64) + "' " + problem});
            continue;
        }
        auto text = block->to_string();
        if (std::find(out.normalized.begin(), out.normalized.end(), text) == out.normalized.end()) {
            out.normalized.push_back(std::move(text));
        }
    }
    return out;
}

}  // namespace cc::keys
