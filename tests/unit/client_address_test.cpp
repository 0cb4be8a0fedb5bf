#include "cc/web/client_address.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/request_head.hpp"

using namespace cc::web;
using cc::testing::head;

TEST(ForwardedFor, FieldsAreJoinedAndWalkedFromTheRight) {
    const std::vector<std::string> trusted = {"127.0.0.1", "10.1.1.1"};
    auto req = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", "6.6.6.6"}, {"Host", "a"}, {"X-Forwarded-For", "7.7.7.7, 10.1.1.1"}});
    EXPECT_EQ(client_address("127.0.0.1", req, trusted), "7.7.7.7");
    auto spoofed = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "7.7.7.7"}});
    EXPECT_EQ(client_address("127.0.0.1", spoofed, trusted), "7.7.7.7");
}

TEST(ForwardedFor, NonAddressesAndUntrustedPeersGiveThePeer) {
    const std::vector<std::string> trusted = {"127.0.0.1"};
    auto html = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", "\"><img src=x onerror=alert(1)>"}});
    EXPECT_EQ(client_address("127.0.0.1", html, trusted), "127.0.0.1");
    auto garbage = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", "6.6.6.6, garbage"}});
    EXPECT_EQ(client_address("127.0.0.1", garbage, trusted), "127.0.0.1");
    auto other = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", "6.6.6.6"}});
    EXPECT_EQ(client_address("9.9.9.9", other, trusted), "9.9.9.9");
    auto v6 = head(bhttp::verb::post, "/", 11, {{"X-Forwarded-For", " 2001:DB8::1 "}});
    EXPECT_EQ(client_address("127.0.0.1", v6, trusted), "2001:db8::1");
}
