#include "cc/keys/domain_name.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace cc::keys;

namespace {
/// A valid name of exactly `length` characters: 63-character labels, then a shorter last one.
std::string name_of_length(std::size_t length) {
    std::string name;
    while (length - name.size() > 64) name += std::string(63, 'a') + ".";
    name += std::string(length - name.size(), 'b');
    return name;
}
}  // namespace

TEST(DomainName, AcceptsOrdinaryNames) {
    EXPECT_EQ(normalize_domain("example.com"), "example.com");
    EXPECT_EQ(normalize_domain("sub.example.co.uk"), "sub.example.co.uk");
    EXPECT_EQ(normalize_domain("xn--bcher-kva.example"), "xn--bcher-kva.example");
    EXPECT_EQ(normalize_domain("a-b.c0.io"), "a-b.c0.io");
    EXPECT_EQ(normalize_domain("123.example"), "123.example");
}

TEST(DomainName, LowerCasesUpperCase) {
    EXPECT_EQ(normalize_domain("Example.COM"), "example.com");
    EXPECT_EQ(normalize_domain("XN--BCHER-KVA.EXAMPLE"), "xn--bcher-kva.example");
}

TEST(DomainName, Accepts253Characters) {
    const auto name = name_of_length(253);
    ASSERT_EQ(name.size(), 253u);
    EXPECT_EQ(normalize_domain(name), name);
}

TEST(DomainName, Refuses254Characters) {
    const auto name = name_of_length(254);
    ASSERT_EQ(name.size(), 254u);
    EXPECT_FALSE(normalize_domain(name).has_value());
}

TEST(DomainName, Accepts63CharacterLabel) {
    const auto name = std::string(63, 'a') + ".com";
    EXPECT_EQ(normalize_domain(name), name);
}

TEST(DomainName, Refuses64CharacterLabel) {
    EXPECT_FALSE(normalize_domain(std::string(64, 'a') + ".com").has_value());
    EXPECT_FALSE(normalize_domain("example." + std::string(64, 'c')).has_value());
}

TEST(DomainName, RefusesEmptyAndSingleLabel) {
    EXPECT_FALSE(normalize_domain("").has_value());
    EXPECT_FALSE(normalize_domain("localhost").has_value());
    EXPECT_FALSE(normalize_domain("com").has_value());
}

TEST(DomainName, RefusesHyphenAtLabelEdges) {
    EXPECT_FALSE(normalize_domain("-example.com").has_value());
    EXPECT_FALSE(normalize_domain("example-.com").has_value());
    EXPECT_FALSE(normalize_domain("example.-com").has_value());
    EXPECT_FALSE(normalize_domain("example.com-").has_value());
}

TEST(DomainName, RefusesSpacesUnderscoreAndUnicode) {
    EXPECT_FALSE(normalize_domain("exa mple.com").has_value());
    EXPECT_FALSE(normalize_domain(" example.com").has_value());
    EXPECT_FALSE(normalize_domain("example.com ").has_value());
    EXPECT_FALSE(normalize_domain("ex_ample.com").has_value());
    EXPECT_FALSE(normalize_domain("b\xC3\xBC" "cher.example").has_value());  // "bücher" in UTF-8
    EXPECT_FALSE(normalize_domain("example.com:8080").has_value());
    EXPECT_FALSE(normalize_domain("example.com/path").has_value());
    EXPECT_FALSE(normalize_domain(std::string("exa\0mple.com", 12)).has_value());
}

TEST(DomainName, RefusesTrailingDotAndEmptyLabels) {
    EXPECT_FALSE(normalize_domain("example.com.").has_value());
    EXPECT_FALSE(normalize_domain(".example.com").has_value());
    EXPECT_FALSE(normalize_domain("a..b").has_value());
    EXPECT_FALSE(normalize_domain(".").has_value());
}

TEST(HostWithoutPort, StripsPortAndLowerCases) {
    EXPECT_EQ(host_without_port("Example.COM:8080"), "example.com");
    EXPECT_EQ(host_without_port("example.com"), "example.com");
    EXPECT_EQ(host_without_port("cleanclicks.Example.com:443"), "cleanclicks.example.com");
    EXPECT_EQ(host_without_port("example.com.:80"), "example.com");
    EXPECT_EQ(host_without_port("example.com."), "example.com");
    EXPECT_EQ(host_without_port(""), "");
}

TEST(HostWithoutPort, KeepsIpv6LiteralWhole) {
    EXPECT_EQ(host_without_port("[::1]:8080"), "[::1]:8080");
}
