#include "cc/keys/ip_allowlist.hpp"

#include <gtest/gtest.h>

using namespace cc::keys;

namespace {

std::string normalized(const std::string& text) {
    std::string problem;
    const auto block = parse_cidr(text, problem);
    return block ? block->to_string() : "invalid: " + problem;
}

ip_allowlist list_of(std::initializer_list<std::string> entries) {
    return ip_allowlist::from_entries(std::vector<std::string>(entries));
}

}  // namespace

TEST(AllowedIps, BareAddressesBecomeSingleHostBlocks) {
    EXPECT_EQ(normalized("10.0.0.1"), "10.0.0.1/32");
    EXPECT_EQ(normalized("2001:DB8::1"), "2001:db8::1/128");
    EXPECT_EQ(normalized(" 192.0.2.0/24 "), "192.0.2.0/24");
    EXPECT_EQ(normalized("0.0.0.0/0"), "0.0.0.0/0");
    EXPECT_EQ(normalized("::/0"), "::/0");
}

TEST(AllowedIps, Ipv4MappedIpv6IsReadAsIpv4) {
    EXPECT_EQ(normalized("::ffff:10.0.0.1"), "10.0.0.1/32");
    EXPECT_EQ(normalized("::ffff:10.0.0.0/104"), "10.0.0.0/8");
    EXPECT_TRUE(list_of({"10.0.0.0/8"}).allows("::ffff:10.1.2.3"));
    EXPECT_TRUE(list_of({"::ffff:10.0.0.1"}).allows("10.0.0.1"));
}

TEST(AllowedIps, InvalidEntriesAreRefused) {
    for (const char* bad : {"", "example.com", "10.0.0", "256.0.0.1", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
                            "10.0.0.0/8/8", "2001:db8::/129", "2001:db8:::1", "fe80::1%eth0", "10.0.0.1/8",
                            "2001:db8::1/32", "10.0.0.0/ 8", "10.0.0.0/0x8"}) {
        std::string problem;
        EXPECT_FALSE(parse_cidr(bad, problem).has_value()) << bad;
        EXPECT_FALSE(problem.empty()) << bad;
    }
}

TEST(AllowedIps, HostBitsBeyondThePrefixSuggestTheBlock) {
    std::string problem;
    EXPECT_FALSE(parse_cidr("10.1.2.3/8", problem));
    EXPECT_NE(problem.find("10.0.0.0/8"), std::string::npos) << problem;
}

TEST(AllowedIps, MatchesByPrefixBits) {
    const auto list = list_of({"192.0.2.0/24", "10.128.0.0/9", "2001:db8:abcd::/48"});
    EXPECT_TRUE(list.allows("192.0.2.0"));
    EXPECT_TRUE(list.allows("192.0.2.255"));
    EXPECT_FALSE(list.allows("192.0.3.0"));
    EXPECT_TRUE(list.allows("10.128.0.1"));
    EXPECT_TRUE(list.allows("10.255.255.255"));
    EXPECT_FALSE(list.allows("10.127.255.255"));
    EXPECT_TRUE(list.allows("2001:db8:abcd:1::5"));
    EXPECT_FALSE(list.allows("2001:db8:abce::5"));
    EXPECT_FALSE(list.allows("not an address"));
    EXPECT_FALSE(list.allows(""));
}

TEST(AllowedIps, Ipv4BlocksNeverMatchPlainIpv6) {
    const auto list = list_of({"0.0.0.0/0"});
    EXPECT_TRUE(list.allows("203.0.113.5"));
    EXPECT_FALSE(list.allows("2001:db8::1"));
    EXPECT_FALSE(list.allows("::1"));
    EXPECT_TRUE(list_of({"::/0"}).allows("2001:db8::1"));
}

TEST(AllowedIps, EmptyListAllowsAnyAddress) {
    EXPECT_TRUE(ip_allowlist().allows("203.0.113.5"));
    EXPECT_TRUE(ip_allowlist().allows("garbage"));
}

TEST(AllowedIps, NormalizeNamesTheBadEntryAndCapsAtFifty) {
    auto checked = normalize_allowed_ips({"10.0.0.1", "nope", "10.0.0.1/32", "2001:db8::/32"});
    ASSERT_EQ(checked.problems.size(), 1u);
    EXPECT_EQ(checked.problems[0].field, "allowed_ips[1]");
    checked = normalize_allowed_ips({"10.0.0.1", "10.0.0.1/32", "::ffff:10.0.0.1"});
    EXPECT_TRUE(checked.problems.empty());
    EXPECT_EQ(checked.normalized, std::vector<std::string>{"10.0.0.1/32"});
    std::vector<std::string> many(51, "10.0.0.1");
    checked = normalize_allowed_ips(many);
    ASSERT_EQ(checked.problems.size(), 1u);
    EXPECT_EQ(checked.problems[0].field, "allowed_ips");
    many.pop_back();
    EXPECT_TRUE(normalize_allowed_ips(many).problems.empty());
}
