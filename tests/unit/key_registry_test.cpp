#include "cc/keys/key_registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cc/util/crypto.hpp"

using namespace cc;
using keys::key_registry;

namespace {

std::string raw_hash(const std::string& value) {
    const auto d = util::sha256(value);
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

storage::key_record make_key(const std::string& id, const std::string& domain, const std::string& value) {
    storage::key_record k;
    k.id = id;
    k.domain = domain;
    k.name = "key " + id;
    k.prefix = value.substr(0, 11);
    k.hash = raw_hash(value);
    k.status = "active";
    k.created_at = 1000;
    return k;
}

const std::string value1 = "cc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000001";
const std::string value2 = "cc_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB000002";
const std::string value3 = "cc_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC000003";

}  // namespace

TEST(KeyRegistry, FindsKeyByHashWithItsDomainPlan) {
    key_registry reg;
    reg.put_domain({"example.com", "signal", 1});
    reg.put_key(make_key("key_1", "example.com", value1));
    const auto found = reg.find(util::sha256(value1));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->state->id, "key_1");
    EXPECT_EQ(*found->state->domain, "example.com");
    EXPECT_EQ(found->state->prefix, value1.substr(0, 11));
    EXPECT_FALSE(found->state->revoked);
    EXPECT_FALSE(found->state->expires_at.has_value());
    EXPECT_EQ(found->plan, "signal");
    ASSERT_NE(found->usage, nullptr);
    EXPECT_EQ(reg.key_count(), 1u);
}

TEST(KeyRegistry, UnknownHashIsNotFound) {
    key_registry reg;
    reg.put_domain({"example.com", "signal", 1});
    reg.put_key(make_key("key_1", "example.com", value1));
    EXPECT_FALSE(reg.find(util::sha256(value2)).has_value());
}

TEST(KeyRegistry, PlanChangeIsVisibleToLookups) {
    key_registry reg;
    reg.put_domain({"example.com", "signal", 1});
    reg.put_key(make_key("key_1", "example.com", value1));
    reg.put_domain({"example.com", "pulse", 1});
    EXPECT_EQ(reg.find(util::sha256(value1))->plan, "pulse");
}

TEST(KeyRegistry, RevokedStateIsVisible) {
    key_registry reg;
    reg.put_domain({"example.com", "signal", 1});
    auto k = make_key("key_1", "example.com", value1);
    reg.put_key(k);
    k.status = "revoked";
    k.revoked_at = 2000;
    reg.put_key(k);
    const auto found = reg.find(util::sha256(value1));
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->state->revoked);
    EXPECT_EQ(reg.key_count(), 1u);

    // Restoring flips it back for the very next lookup.
    k.status = "active";
    k.revoked_at.reset();
    reg.put_key(k);
    EXPECT_FALSE(reg.find(util::sha256(value1))->state->revoked);
}

TEST(KeyRegistry, ExpiryIsVisible) {
    key_registry reg;
    auto k = make_key("key_1", "example.com", value1);
    k.expires_at = 5000;
    reg.put_key(k);
    const auto found = reg.find(util::sha256(value1));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->state->expires_at, 5000);
}

TEST(KeyRegistry, UpdatingAKeyKeepsItsUsage) {
    key_registry reg;
    auto k = make_key("key_1", "example.com", value1);
    reg.put_key(k);
    const auto before = reg.find(util::sha256(value1))->usage;
    k.status = "revoked";
    reg.put_key(k);
    EXPECT_EQ(reg.find(util::sha256(value1))->usage, before);
}

TEST(KeyRegistry, RemoveKeyMakesFindFail) {
    key_registry reg;
    reg.put_domain({"example.com", "signal", 1});
    const auto k1 = make_key("key_1", "example.com", value1);
    reg.put_key(k1);
    reg.put_key(make_key("key_2", "example.com", value2));
    reg.remove_key(k1);
    EXPECT_FALSE(reg.find(util::sha256(value1)).has_value());
    EXPECT_TRUE(reg.find(util::sha256(value2)).has_value());
    EXPECT_EQ(reg.key_count(), 1u);
    reg.remove_key(k1);  // removing again is harmless
    reg.remove_key(make_key("no_such_key", "example.com", value3));
    EXPECT_EQ(reg.key_count(), 1u);
}

TEST(KeyRegistry, ReplaceAllKeepsUsageOfSurvivingKeys) {
    key_registry reg;
    reg.put_domain({"example.com", "pulse", 1});
    const auto k1 = make_key("key_1", "example.com", value1);
    const auto k2 = make_key("key_2", "example.com", value2);
    reg.put_key(k1);
    reg.put_key(k2);

    const auto usage1 = reg.find(util::sha256(value1))->usage;
    // Use up the bucket of key 1 (burst 2) and record a use not yet flushed.
    util::millis retry = 0;
    {
        std::lock_guard lock(usage1->mutex);
        ASSERT_TRUE(usage1->bucket.try_take(1, 2, 10'000, retry));
        ASSERT_TRUE(usage1->bucket.try_take(1, 2, 10'000, retry));
    }
    key_registry::touch(*usage1, 10'000, "203.0.113.7");

    auto k1_revoked = k1;
    k1_revoked.status = "revoked";
    const auto k3 = make_key("key_3", "example.com", value3);
    reg.replace_all({{"example.com", "signal", 1}}, {k1_revoked, k3});

    const auto found1 = reg.find(util::sha256(value1));
    ASSERT_TRUE(found1.has_value());
    EXPECT_EQ(found1->usage, usage1);          // same usage record
    EXPECT_TRUE(found1->state->revoked);       // new state
    EXPECT_EQ(found1->plan, "signal");         // new plan
    {
        std::lock_guard lock(found1->usage->mutex);
        EXPECT_FALSE(found1->usage->bucket.try_take(1, 2, 10'000, retry));  // still empty
    }
    EXPECT_FALSE(reg.find(util::sha256(value2)).has_value());  // gone from storage
    EXPECT_TRUE(reg.find(util::sha256(value3)).has_value());
    EXPECT_EQ(reg.key_count(), 2u);

    // The unflushed last-used time survived too.
    const auto updates = reg.take_last_used();
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_EQ(updates[0].key_id, "key_1");
    EXPECT_EQ(updates[0].at, 10'000);
    EXPECT_EQ(updates[0].ip, "203.0.113.7");
}

TEST(KeyRegistry, ReplaceAllDropsRemovedDomains) {
    key_registry reg;
    reg.put_domain({"example.com", "pulse", 1});
    reg.put_domain({"gone.com", "pulse", 1});
    reg.replace_all({{"example.com", "pulse", 1}}, {});
    EXPECT_TRUE(reg.has_domain("example.com"));
    EXPECT_FALSE(reg.has_domain("gone.com"));
    EXPECT_EQ(reg.key_count(), 0u);
}

TEST(KeyRegistry, TouchIsTakenOnceThenNothing) {
    key_registry reg;
    reg.put_key(make_key("key_1", "example.com", value1));
    reg.put_key(make_key("key_2", "example.com", value2));
    EXPECT_TRUE(reg.take_last_used().empty());

    key_registry::touch(*reg.find(util::sha256(value1))->usage, 5'000, "198.51.100.1");
    key_registry::touch(*reg.find(util::sha256(value1))->usage, 6'000, "198.51.100.2");
    key_registry::touch(*reg.find(util::sha256(value2))->usage, 7'000, "198.51.100.3");
    auto updates = reg.take_last_used();
    std::sort(updates.begin(), updates.end(), [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
    ASSERT_EQ(updates.size(), 2u);
    EXPECT_EQ(updates[0].key_id, "key_1");
    EXPECT_EQ(updates[0].at, 6'000);  // coalesced: the latest use
    EXPECT_EQ(updates[0].ip, "198.51.100.2");
    EXPECT_EQ(updates[1].key_id, "key_2");
    EXPECT_EQ(updates[1].at, 7'000);

    EXPECT_TRUE(reg.take_last_used().empty());

    key_registry::touch(*reg.find(util::sha256(value2))->usage, 8'000, "198.51.100.4");
    updates = reg.take_last_used();
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_EQ(updates[0].key_id, "key_2");
    EXPECT_EQ(updates[0].at, 8'000);
    EXPECT_TRUE(reg.take_last_used().empty());
}

TEST(KeyRegistry, OlderTouchDoesNotMoveLastUsedBack) {
    key_registry reg;
    reg.put_key(make_key("key_1", "example.com", value1));
    auto usage = reg.find(util::sha256(value1))->usage;
    key_registry::touch(*usage, 9'000, "198.51.100.9");
    key_registry::touch(*usage, 8'000, "198.51.100.8");
    const auto updates = reg.take_last_used();
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_EQ(updates[0].at, 9'000);
    EXPECT_EQ(updates[0].ip, "198.51.100.9");
}

TEST(KeyRegistry, RemovedKeyIsNotReportedAsUsed) {
    key_registry reg;
    const auto k1 = make_key("key_1", "example.com", value1);
    reg.put_key(k1);
    key_registry::touch(*reg.find(util::sha256(value1))->usage, 9'000, "198.51.100.9");
    reg.remove_key(k1);
    EXPECT_TRUE(reg.take_last_used().empty());
}

TEST(KeyRegistry, HasDomain) {
    key_registry reg;
    EXPECT_FALSE(reg.has_domain("example.com"));
    reg.put_domain({"example.com", "pulse", 1});
    EXPECT_TRUE(reg.has_domain("example.com"));
    EXPECT_FALSE(reg.has_domain("cleanclicks.example.com"));
    EXPECT_FALSE(reg.has_domain("other.com"));
    reg.remove_domain("example.com");
    EXPECT_FALSE(reg.has_domain("example.com"));
}

TEST(KeyRegistry, FailedWritesArePutBackForTheNextFlush) {
    key_registry reg;
    reg.put_key(make_key("key_1", "example.com", value1));
    auto usage = reg.find(util::sha256(value1))->usage;
    key_registry::touch(*usage, 9'000, "198.51.100.9");
    usage->counters.add(keys::usage_kind::accepted, 9'000, 3);
    const auto counts = reg.take_usage();
    const auto updates = reg.take_last_used();
    ASSERT_EQ(counts.size(), 1u);
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_TRUE(reg.take_usage().empty());
    EXPECT_TRUE(reg.take_last_used().empty());

    reg.restore_usage(counts);
    reg.restore_last_used(updates);
    const auto counts_again = reg.take_usage();
    const auto updates_again = reg.take_last_used();
    ASSERT_EQ(counts_again.size(), 1u);
    EXPECT_EQ(counts_again[0].accepted, 3);
    ASSERT_EQ(updates_again.size(), 1u);
    EXPECT_EQ(updates_again[0].at, 9'000);
    EXPECT_EQ(updates_again[0].ip, "198.51.100.9");
}

TEST(KeyRegistry, UnusedKeysHaveNoUsageToFlush) {
    key_registry reg;
    reg.put_key(make_key("key_1", "example.com", value1));
    reg.put_key(make_key("key_2", "example.com", value2));
    key_registry::touch(*reg.find(util::sha256(value2))->usage, 1'000, "198.51.100.1");
    const auto updates = reg.take_last_used();
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_EQ(updates[0].key_id, "key_2");
}

TEST(KeyRegistry, StoredHashOfTheWrongSizeIsRefused) {
    key_registry reg;
    auto k = make_key("key_1", "example.com", value1);
    k.hash.pop_back();
    EXPECT_THROW(reg.put_key(k), std::invalid_argument);
    EXPECT_EQ(reg.key_count(), 0u);
}
