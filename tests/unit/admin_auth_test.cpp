#include "cc/auth/admin_auth.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

using cc::auth::admin_authenticator;

namespace {
const std::string token = "s3cr3t-admin-token-0123456789";
}  // namespace

TEST(AdminAuth, AcceptsBearerToken) {
    const admin_authenticator auth({token});
    const auto id = auth.authenticate("Bearer " + token);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(*id, admin_authenticator::token_id(token));
    EXPECT_TRUE(auth.enabled());
}

TEST(AdminAuth, SchemeIsCaseInsensitive) {
    const admin_authenticator auth({token});
    EXPECT_TRUE(auth.authenticate("bearer " + token).has_value());
    EXPECT_TRUE(auth.authenticate("BEARER " + token).has_value());
    EXPECT_TRUE(auth.authenticate("bEaReR " + token).has_value());
}

TEST(AdminAuth, WrongTokenIsRefused) {
    const admin_authenticator auth({token});
    EXPECT_FALSE(auth.authenticate("Bearer not-the-token").has_value());
}

TEST(AdminAuth, TokenDifferingInLastCharIsRefused) {
    const admin_authenticator auth({token});
    auto almost = token;
    almost.back() = almost.back() == 'x' ? 'y' : 'x';
    EXPECT_FALSE(auth.authenticate("Bearer " + almost).has_value());
}

TEST(AdminAuth, MissingSchemeIsRefused) {
    const admin_authenticator auth({token});
    EXPECT_FALSE(auth.authenticate(token).has_value());
    EXPECT_FALSE(auth.authenticate(" " + token).has_value());
    EXPECT_FALSE(auth.authenticate("Basic " + token).has_value());
    EXPECT_FALSE(auth.authenticate("Bearer" + token).has_value());
}

TEST(AdminAuth, EmptyTokenIsRefused) {
    const admin_authenticator auth({token});
    EXPECT_FALSE(auth.authenticate("Bearer ").has_value());
    EXPECT_FALSE(auth.authenticate("Bearer").has_value());
    EXPECT_FALSE(auth.authenticate("").has_value());
}

TEST(AdminAuth, PrefixOrExtensionOfTokenIsRefused) {
    const admin_authenticator auth({token});
    EXPECT_FALSE(auth.authenticate("Bearer " + token.substr(0, token.size() - 1)).has_value());
    EXPECT_FALSE(auth.authenticate("Bearer " + token.substr(0, 4)).has_value());
    EXPECT_FALSE(auth.authenticate("Bearer " + token + "x").has_value());
    EXPECT_FALSE(auth.authenticate("Bearer " + token + " ").has_value());
}

TEST(AdminAuth, NoTokensRefusesEverything) {
    const admin_authenticator auth(std::vector<std::string>{});
    EXPECT_FALSE(auth.enabled());
    EXPECT_FALSE(auth.authenticate("Bearer " + token).has_value());
    EXPECT_FALSE(auth.authenticate("Bearer ").has_value());
    EXPECT_FALSE(auth.authenticate("Bearer x").has_value());
    EXPECT_FALSE(auth.authenticate("").has_value());
}

TEST(AdminAuth, EmptyConfiguredTokenIsIgnored) {
    // An empty string in the configuration must not open the API to "Bearer ".
    const admin_authenticator auth({""});
    EXPECT_FALSE(auth.enabled());
    EXPECT_FALSE(auth.authenticate("Bearer ").has_value());
}

TEST(AdminAuthTokenId, IsNonSecretAndStable) {
    const auto id = admin_authenticator::token_id(token);
    EXPECT_EQ(id, admin_authenticator::token_id(token));
    EXPECT_TRUE(id.starts_with("adm_")) << id;
    EXPECT_EQ(id.size(), 12u);
    EXPECT_EQ(id.find(token), std::string::npos);
    EXPECT_EQ(id.find(token.substr(0, 6)), std::string::npos);
    // Stable across authenticator instances.
    const admin_authenticator a({token});
    const admin_authenticator b({"other", token});
    EXPECT_EQ(a.authenticate("Bearer " + token), b.authenticate("Bearer " + token));
}

TEST(AdminAuthTokenId, SeveralTokensMapToTheirOwnIds) {
    const std::vector<std::string> tokens = {"token-one-aaaaaaaa", "token-two-bbbbbbbb", "token-three-cccccc"};
    const admin_authenticator auth(tokens);
    std::set<std::string> ids;
    for (const auto& t : tokens) {
        const auto id = auth.authenticate("Bearer " + t);
        ASSERT_TRUE(id.has_value()) << t;
        EXPECT_EQ(*id, admin_authenticator::token_id(t));
        ids.insert(*id);
    }
    EXPECT_EQ(ids.size(), tokens.size());
}
