#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cc/events/event.hpp"

namespace cc::keys {

/// @brief One CIDR block, IPv4 or IPv6, stored as 16 bytes (IPv4 as ::ffff:a.b.c.d).
struct cidr_block {
    std::array<std::uint8_t, 16> address{};
    int prefix_length = 0;  ///< over the 128 bits (an IPv4 /24 is 96 + 24)
    bool v4 = false;

    /// @brief The canonical text: `10.0.0.0/8`, `2001:db8::/32`.
    std::string to_string() const;
};

/// @brief Parses an address or CIDR block (`10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`,
/// `::ffff:10.0.0.1`). A bare address is a single-host block. Host bits beyond the prefix
/// are refused (`10.0.0.1/8` is ambiguous: a typo or a wrong mask). IPv4-mapped IPv6 is
/// read as IPv4. Returns nullopt with `problem` set when the text is not valid.
std::optional<cidr_block> parse_cidr(std::string_view text, std::string& problem);

/// @brief Parses a client address (no prefix); IPv4-mapped IPv6 as IPv4.
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text);

/// @brief The addresses a key may be used from. Empty: any address.
class ip_allowlist {
public:
    ip_allowlist() = default;
    explicit ip_allowlist(std::vector<cidr_block> blocks)
        : blocks_(blocks.empty() ? nullptr : std::make_shared<const std::vector<cidr_block>>(std::move(blocks))) {}

    /// @brief Builds one from normalized entries (as stored); bad entries are skipped.
    static ip_allowlist from_entries(const std::vector<std::string>& entries);

    bool empty() const noexcept { return !blocks_; }
    /// @brief True when the list is empty or `client_ip` is in one of the blocks.
    bool allows(std::string_view client_ip) const;
    bool contains(const std::array<std::uint8_t, 16>& address) const;

private:
    /// @brief Null when empty; shared and never changed, so an index of a million keys
    /// (most without a list) pays one pointer each.
    std::shared_ptr<const std::vector<cidr_block>> blocks_;
};

/// @brief At most this many entries per key.
inline constexpr std::size_t max_allowed_ips = 50;

/// @brief Validates and normalizes a key's `allowed_ips`: each entry to its canonical CIDR
/// text, duplicates dropped, order kept. Problems name the entry (`allowed_ips[3]`).
struct allowlist_check {
    std::vector<std::string> normalized;
    std::vector<util::field_problem> problems;
};
allowlist_check normalize_allowed_ips(const std::vector<std::string>& entries);

}  // namespace cc::keys
