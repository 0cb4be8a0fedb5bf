#include "cc/keys/key_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cc/auth/api_key.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"
#include "cc/util/crypto.hpp"

#include "support/lcg_random.hpp"
#include "support/database.hpp"
#include "support/temp_dir.hpp"

using namespace cc;
using keys::key_service;
namespace fs = std::filesystem;

namespace {

using cc::testing::temp_dir;

using cc::testing::lcg_random;

constexpr util::millis start_ms = 1'750'000'000'000;
constexpr util::millis second = 1000;
constexpr util::millis day = 86'400'000;

using cc::testing::options_for;

std::vector<std::string> fields(const util::failure& f) {
    std::vector<std::string> out;
    for (const auto& d : f.details) out.push_back(d.field);
    std::sort(out.begin(), out.end());
    return out;
}

std::string utf8_e_acute(std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += "\xC3\xA9";  // U+00E9, two bytes
    return out;
}

class KeyServiceTest : public ::testing::Test {
protected:
    KeyServiceTest()
        : store_(options_for(dir_.file("cc.db"))), clock_(start_ms), random_(42),
          service_(store_, registry_, clock_, random_) {}

    /// Registers a domain, asserting success.
    void domain(const std::string& name, const std::string& plan) {
        const auto r = service_.put_domain(name, plan, admin_);
        ASSERT_TRUE(r.ok()) << util::to_text(r.error().code);
    }

    /// Creates a key, asserting success.
    keys::created_key create(const std::string& domain, const std::string& name = "Zapier Integration",
                             std::optional<util::millis> expires_at = std::nullopt) {
        auto r = service_.create_key(domain, name, expires_at, admin_);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : std::string(util::to_text(r.error().code)) + ": " + r.error().message);
        return r.ok() ? r.value() : keys::created_key{};
    }

    std::optional<keys::key_lookup> lookup(const std::string& value) { return registry_.find(util::sha256(value)); }

    long long active_keys(const std::string& domain) {
        const auto d = service_.get_domain(domain);
        EXPECT_TRUE(d.ok());
        return d.ok() ? d.value().active_keys : -1;
    }

    temp_dir dir_;
    storage::sqlite::sqlite_storage store_;
    keys::key_registry registry_;
    util::manual_clock clock_;
    lcg_random random_;
    key_service service_;
    keys::actor admin_{"adm_1a2b3c4d", "203.0.113.9"};
};

}  // namespace

// --- domains -----------------------------------------------------------------

TEST_F(KeyServiceTest, PutDomainRefusesBadDomainAndPlanNamingBothFields) {
    const auto r = service_.put_domain("not a domain", "gold", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::validation_failed);
    EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"domain", "plan"}));
}

TEST_F(KeyServiceTest, PutDomainRefusesBadPlan) {
    const auto r = service_.put_domain("example.com", "Pulse", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::validation_failed);
    EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"plan"}));
}

TEST_F(KeyServiceTest, PutDomainRefusesBadDomain) {
    for (const char* bad : {"localhost", "exa_mple.com", "example.com.", ""}) {
        const auto r = service_.put_domain(bad, "pulse", admin_);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, util::error_code::validation_failed);
        EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"domain"})) << bad;
    }
    EXPECT_TRUE(service_.list_domains().value().empty());
}

TEST_F(KeyServiceTest, PutDomainNormalizesAndRegisters) {
    const auto r = service_.put_domain("Example.COM", "signal", admin_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().domain.domain, "example.com");
    EXPECT_EQ(r.value().domain.plan, "signal");
    EXPECT_EQ(r.value().key_limit, 5);
    EXPECT_EQ(r.value().active_keys, 0);
    EXPECT_EQ(r.value().domain.created_at, start_ms);
    EXPECT_TRUE(registry_.has_domain("example.com"));
}

TEST_F(KeyServiceTest, PlanChangeKeepsCreatedAt) {
    domain("example.com", "signal");
    clock_.advance(day);
    const auto r = service_.put_domain("example.com", "command", admin_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().domain.plan, "command");
    EXPECT_FALSE(r.value().key_limit.has_value());
    EXPECT_EQ(r.value().domain.created_at, start_ms);
}

TEST_F(KeyServiceTest, DeleteDomainWithKeysIsRefused) {
    domain("example.com", "pulse");
    const auto k = create("example.com");
    auto r = service_.delete_domain("example.com", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::domain_has_keys);

    // Revoked keys still count: they stay listed until deleted.
    ASSERT_TRUE(service_.revoke_key(k.key.key.id, admin_).ok());
    r = service_.delete_domain("example.com", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::domain_has_keys);

    ASSERT_TRUE(service_.delete_key(k.key.key.id, admin_).ok());
    EXPECT_TRUE(service_.delete_domain("example.com", admin_).ok());
    EXPECT_EQ(service_.get_domain("example.com").error().code, util::error_code::domain_not_found);
    EXPECT_FALSE(registry_.has_domain("example.com"));
}

TEST_F(KeyServiceTest, DeleteUnknownDomainIsNotFound) {
    const auto r = service_.delete_domain("nowhere.example", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::domain_not_found);
}

// --- plan limits ---------------------------------------------------------------

TEST_F(KeyServiceTest, CreateKeyUpToPlanLimitThenRefused) {
    domain("example.com", "pulse");
    create("example.com", "one");
    create("example.com", "two");
    const auto r = service_.create_key("example.com", "three", std::nullopt, admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::plan_limit_reached);
    EXPECT_EQ(service_.list_keys("example.com").value().keys.size(), 2u);
    EXPECT_EQ(active_keys("example.com"), 2);
}

TEST_F(KeyServiceTest, SignalPlanAllowsFiveKeys) {
    domain("example.com", "signal");
    for (int i = 0; i < 5; ++i) create("example.com", "k" + std::to_string(i));
    EXPECT_EQ(service_.create_key("example.com", "k5", std::nullopt, admin_).error().code, util::error_code::plan_limit_reached);
}

TEST_F(KeyServiceTest, CreatedKeyIsWellFormedAndIndexedByHash) {
    domain("example.com", "pulse");
    const auto k = create("example.com", "Zapier Integration");
    EXPECT_TRUE(auth::is_well_formed_api_key(k.value)) << k.value;
    EXPECT_TRUE(k.key.key.id.starts_with("key_"));
    EXPECT_EQ(k.key.key.prefix, k.value.substr(0, 11));
    EXPECT_EQ(k.key.status, "active");
    EXPECT_EQ(k.key.key.created_at, start_ms);
    EXPECT_EQ(k.key.key.domain, "example.com");
    const auto d = util::sha256(k.value);
    EXPECT_EQ(k.key.key.hash, std::string(reinterpret_cast<const char*>(d.data()), d.size()));
    const auto found = lookup(k.value);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(std::string_view(found->state->id), k.key.key.id);
    EXPECT_EQ(found->plan, "pulse");
}

TEST_F(KeyServiceTest, CreateKeyForUnknownDomainIsNotFound) {
    const auto r = service_.create_key("nowhere.example", "k", std::nullopt, admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::domain_not_found);
}

TEST_F(KeyServiceTest, RevokedKeysDoNotCountButStayListed) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "a");
    create("example.com", "b");
    ASSERT_TRUE(service_.revoke_key(a.key.key.id, admin_).ok());
    EXPECT_EQ(active_keys("example.com"), 1);
    create("example.com", "c");
    const auto listing = service_.list_keys("example.com").value();
    EXPECT_EQ(listing.keys.size(), 3u);
    EXPECT_EQ(listing.domain.active_keys, 2);
}

TEST_F(KeyServiceTest, RestoreOverLimitIsRefused) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "a");
    create("example.com", "b");
    ASSERT_TRUE(service_.revoke_key(a.key.key.id, admin_).ok());
    create("example.com", "c");
    const auto r = service_.restore_key(a.key.key.id, admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::plan_limit_reached);
    EXPECT_EQ(service_.get_key(a.key.key.id).value().status, "revoked");
    EXPECT_TRUE(lookup(a.value)->state->revoked);
    EXPECT_EQ(active_keys("example.com"), 2);
}

TEST_F(KeyServiceTest, RestoreUnderLimitMakesSameKeyWorkAgain) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "a");
    ASSERT_TRUE(service_.revoke_key(a.key.key.id, admin_).ok());
    EXPECT_TRUE(lookup(a.value)->state->revoked);
    const auto r = service_.restore_key(a.key.key.id, admin_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().status, "active");
    EXPECT_FALSE(r.value().key.revoked_at.has_value());
    EXPECT_FALSE(lookup(a.value)->state->revoked);
}

TEST_F(KeyServiceTest, RestoreOfExpiredKeyDoesNotCount) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "a", start_ms + 10 * second);
    ASSERT_TRUE(service_.revoke_key(a.key.key.id, admin_).ok());
    clock_.advance(20 * second);
    create("example.com", "b");
    create("example.com", "c");
    const auto r = service_.restore_key(a.key.key.id, admin_);
    ASSERT_TRUE(r.ok()) << util::to_text(r.error().code);
    EXPECT_EQ(r.value().status, "expired");
    EXPECT_EQ(r.value().key.status, "active");
    EXPECT_EQ(active_keys("example.com"), 2);
}

TEST_F(KeyServiceTest, ExpiredKeysDoNotCountAgainstLimit) {
    domain("example.com", "pulse");
    create("example.com", "a", start_ms + second);
    create("example.com", "b");
    EXPECT_EQ(service_.create_key("example.com", "c", std::nullopt, admin_).error().code, util::error_code::plan_limit_reached);
    clock_.advance(second);  // expires_at == now: expired
    EXPECT_EQ(active_keys("example.com"), 1);
    create("example.com", "c");
}

TEST_F(KeyServiceTest, DowngradeKeepsExistingKeysButBlocksCreation) {
    domain("example.com", "signal");
    std::vector<keys::created_key> made;
    for (int i = 0; i < 4; ++i) made.push_back(create("example.com", "k" + std::to_string(i)));
    const auto down = service_.put_domain("example.com", "pulse", admin_);
    ASSERT_TRUE(down.ok());
    EXPECT_EQ(down.value().active_keys, 4);
    EXPECT_EQ(down.value().key_limit, 2);
    const auto listing = service_.list_keys("example.com").value();
    for (const auto& k : listing.keys) EXPECT_EQ(k.status, "active");
    for (const auto& k : made) {
        const auto found = lookup(k.value);
        ASSERT_TRUE(found.has_value());
        EXPECT_FALSE(found->state->revoked);
        EXPECT_EQ(found->plan, "pulse");
    }
    EXPECT_EQ(service_.create_key("example.com", "new", std::nullopt, admin_).error().code, util::error_code::plan_limit_reached);

    // Back under the limit only once fewer than two are active.
    ASSERT_TRUE(service_.revoke_key(made[0].key.key.id, admin_).ok());
    ASSERT_TRUE(service_.revoke_key(made[1].key.key.id, admin_).ok());
    EXPECT_EQ(service_.create_key("example.com", "new", std::nullopt, admin_).error().code, util::error_code::plan_limit_reached);
    ASSERT_TRUE(service_.revoke_key(made[2].key.key.id, admin_).ok());
    create("example.com", "new");
}

TEST_F(KeyServiceTest, ConcurrentCreatesRespectPlanLimit) {
    domain("example.com", "pulse");
    // The shared random source must be thread-safe here: use the CSPRNG.
    key_service shared(store_, registry_, clock_, util::system_random());
    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            const auto r = shared.create_key("example.com", "t" + std::to_string(i), std::nullopt, admin_);
            if (r.ok()) {
                ++ok;
            } else if (r.error().code == util::error_code::plan_limit_reached) {
                ++refused;
            } else {
                ++other;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 2);
    EXPECT_EQ(refused.load(), 6);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(store_.load_keys().size(), 2u);
    EXPECT_EQ(registry_.key_count(), 2u);
}

TEST_F(KeyServiceTest, ConcurrentCreatesFromTwoProcessesRespectPlanLimit) {
    domain("example.com", "pulse");
    // A second store on the same file stands for another process (the operator CLI).
    storage::sqlite::sqlite_storage other_store(options_for(dir_.file("cc.db")));
    keys::key_registry other_registry;
    key_service here(store_, registry_, clock_, util::system_random());
    key_service there(other_store, other_registry, clock_, util::system_random());
    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            auto& service = (i % 2 == 0) ? here : there;
            const auto r = service.create_key("example.com", "p" + std::to_string(i), std::nullopt, admin_);
            if (r.ok()) {
                ++ok;
            } else if (r.error().code == util::error_code::plan_limit_reached) {
                ++refused;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 2);
    EXPECT_EQ(refused.load(), 6);
    EXPECT_EQ(store_.load_keys().size(), 2u);
}

// --- key lifecycle -----------------------------------------------------------------

TEST_F(KeyServiceTest, RevokingRevokedKeyIsNoOp) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    const auto first = service_.revoke_key(a.key.key.id, admin_);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first.value().status, "revoked");
    EXPECT_EQ(first.value().key.revoked_at, start_ms);
    clock_.advance(second);
    const auto second_try = service_.revoke_key(a.key.key.id, admin_);
    ASSERT_TRUE(second_try.ok());
    EXPECT_EQ(second_try.value().key.revoked_at, start_ms);  // unchanged

    storage::listing_query q;
    q.domain = "example.com";
    int revocations = 0;
    const auto audit = store_.list_audit(q);
    for (const auto& e : audit.items) revocations += e.action == "key.revoked";
    EXPECT_EQ(revocations, 1);
}

TEST_F(KeyServiceTest, DeletedKeyIsGoneFromStorageAndRegistry) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    ASSERT_TRUE(lookup(a.value).has_value());
    ASSERT_TRUE(service_.delete_key(a.key.key.id, admin_).ok());
    const auto r = service_.get_key(a.key.key.id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::key_not_found);
    EXPECT_FALSE(lookup(a.value).has_value());
    EXPECT_EQ(service_.delete_key(a.key.key.id, admin_).error().code, util::error_code::key_not_found);
    EXPECT_EQ(service_.revoke_key(a.key.key.id, admin_).error().code, util::error_code::key_not_found);
    EXPECT_EQ(service_.restore_key(a.key.key.id, admin_).error().code, util::error_code::key_not_found);
    EXPECT_EQ(service_.roll_key(a.key.key.id, day, admin_).error().code, util::error_code::key_not_found);
}

TEST_F(KeyServiceTest, ListKeysNewestFirst) {
    domain("example.com", "signal");
    const auto a = create("example.com", "a");
    clock_.advance(second);
    const auto b = create("example.com", "b");
    clock_.advance(second);
    const auto c = create("example.com", "c");
    const auto listing = service_.list_keys("example.com").value();
    ASSERT_EQ(listing.keys.size(), 3u);
    EXPECT_EQ(listing.keys[0].key.id, c.key.key.id);
    EXPECT_EQ(listing.keys[1].key.id, b.key.key.id);
    EXPECT_EQ(listing.keys[2].key.id, a.key.key.id);
    for (const auto& k : listing.keys) EXPECT_EQ(k.key.hash.size(), 32u);
}

TEST_F(KeyServiceTest, RollAtLimitSucceedsAndExpiresOldAfterGrace) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "Zapier");
    create("example.com", "Other");
    clock_.advance(5 * second);
    const auto grace = 3600 * second;
    const auto r = service_.roll_key(a.key.key.id, grace, admin_);
    ASSERT_TRUE(r.ok()) << util::to_text(r.error().code);
    const auto& fresh = r.value();
    EXPECT_TRUE(auth::is_well_formed_api_key(fresh.value));
    EXPECT_NE(fresh.value, a.value);
    EXPECT_NE(fresh.key.key.id, a.key.key.id);
    EXPECT_EQ(fresh.key.key.name, "Zapier");
    EXPECT_EQ(fresh.key.key.domain, "example.com");
    EXPECT_EQ(fresh.key.status, "active");
    EXPECT_FALSE(fresh.key.key.expires_at.has_value());

    const auto old = service_.get_key(a.key.key.id).value();
    EXPECT_EQ(old.key.expires_at, start_ms + 5 * second + grace);
    EXPECT_EQ(old.status, "active");  // still inside the grace period
    EXPECT_EQ(lookup(a.value)->state->expires_at, start_ms + 5 * second + grace);
    ASSERT_TRUE(lookup(fresh.value).has_value());

    clock_.advance(grace);
    EXPECT_EQ(service_.get_key(a.key.key.id).value().status, "expired");
    EXPECT_EQ(active_keys("example.com"), 2);
}

TEST_F(KeyServiceTest, RollWithZeroGraceExpiresOldKeyAtOnce) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    ASSERT_TRUE(service_.roll_key(a.key.key.id, 0, admin_).ok());
    const auto old = service_.get_key(a.key.key.id).value();
    EXPECT_EQ(old.key.expires_at, start_ms);
    EXPECT_EQ(old.status, "expired");
}

TEST_F(KeyServiceTest, RollGraceOutOfRangeIsRefused) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    for (const util::millis bad : {util::millis{-1}, util::millis{-1000}, 30 * day + 1, 31 * day}) {
        const auto r = service_.roll_key(a.key.key.id, bad, admin_);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, util::error_code::validation_failed);
        EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"grace_seconds"}));
    }
    EXPECT_EQ(service_.list_keys("example.com").value().keys.size(), 1u);
    EXPECT_TRUE(service_.roll_key(a.key.key.id, 30 * day, admin_).ok());
}

TEST_F(KeyServiceTest, RollDoesNotExtendAnEarlierExpiry) {
    domain("example.com", "pulse");
    const auto a = create("example.com", "a", start_ms + 60 * second);
    ASSERT_TRUE(service_.roll_key(a.key.key.id, day, admin_).ok());
    EXPECT_EQ(service_.get_key(a.key.key.id).value().key.expires_at, start_ms + 60 * second);
}

TEST_F(KeyServiceTest, RollingTheSameKeyAgainIsRefusedSoThePlanLimitHolds) {
    // The issue's repro: a pulse domain (limit 2), one key, rolled four times with a
    // 30-day grace. Only the first roll may succeed.
    domain("example.com", "pulse");
    const auto a = create("example.com");
    const auto first = service_.roll_key(a.key.key.id, 30 * day, admin_);
    ASSERT_TRUE(first.ok()) << util::to_text(first.error().code);
    for (int i = 0; i < 3; ++i) {
        const auto again = service_.roll_key(a.key.key.id, 30 * day, admin_);
        ASSERT_FALSE(again.ok());
        EXPECT_EQ(again.error().code, util::error_code::key_already_rolled);
        EXPECT_NE(again.error().message.find(first.value().key.key.id), std::string::npos) << again.error().message;
    }
    EXPECT_EQ(service_.list_keys("example.com").value().keys.size(), 2u);
    EXPECT_EQ(active_keys("example.com"), 2);
    clock_.advance(30 * day);
    EXPECT_EQ(active_keys("example.com"), 1);
}

TEST_F(KeyServiceTest, RollAnswersWithTheOldKeyAndLinksIt) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    EXPECT_FALSE(a.key.key.rolled_to.has_value());
    EXPECT_FALSE(a.rolled_from.has_value());
    const auto r = service_.roll_key(a.key.key.id, 3600 * second, admin_);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.value().rolled_from.has_value());
    const auto& old = *r.value().rolled_from;
    EXPECT_EQ(old.key.id, a.key.key.id);
    EXPECT_EQ(old.key.rolled_to, r.value().key.key.id);
    EXPECT_EQ(old.key.expires_at, start_ms + 3600 * second);
    EXPECT_EQ(old.status, "active");
    EXPECT_FALSE(r.value().key.key.rolled_to.has_value());
    // Stored, not only answered.
    EXPECT_EQ(service_.get_key(a.key.key.id).value().key.rolled_to, r.value().key.key.id);
}

TEST_F(KeyServiceTest, TheSuccessorCanBeRolledInItsTurn) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    const auto b = service_.roll_key(a.key.key.id, 0, admin_);
    ASSERT_TRUE(b.ok());
    const auto c = service_.roll_key(b.value().key.key.id, 0, admin_);
    ASSERT_TRUE(c.ok()) << util::to_text(c.error().code);
    EXPECT_EQ(active_keys("example.com"), 1);
}

TEST_F(KeyServiceTest, RevokedOrExpiredKeysCannotBeRolled) {
    domain("example.com", "command");
    const auto revoked = create("example.com", "revoked");
    ASSERT_TRUE(service_.revoke_key(revoked.key.key.id, admin_).ok());
    const auto expiring = create("example.com", "expiring", start_ms + second);
    const auto rolled_at_once = create("example.com", "rolled at once");
    ASSERT_TRUE(service_.roll_key(rolled_at_once.key.key.id, 0, admin_).ok());
    clock_.advance(2 * second);
    for (const auto* k : {&revoked, &expiring, &rolled_at_once}) {
        const auto r = service_.roll_key(k->key.key.id, day, admin_);
        ASSERT_FALSE(r.ok()) << k->key.key.name;
        EXPECT_EQ(r.error().code, util::error_code::key_not_active) << k->key.key.name;
        EXPECT_NE(r.error().message.find(k->key.key.prefix), std::string::npos) << r.error().message;
    }
    EXPECT_EQ(service_.list_keys("example.com").value().keys.size(), 4u);
}

TEST_F(KeyServiceTest, DeletingTheSuccessorLetsTheOldKeyBeRolledAgain) {
    domain("example.com", "pulse");
    const auto a = create("example.com");
    const auto b = service_.roll_key(a.key.key.id, day, admin_);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(service_.delete_key(b.value().key.key.id, admin_).ok());
    EXPECT_FALSE(service_.get_key(a.key.key.id).value().key.rolled_to.has_value());
    const auto c = service_.roll_key(a.key.key.id, day, admin_);
    ASSERT_TRUE(c.ok()) << util::to_text(c.error().code);
    EXPECT_EQ(active_keys("example.com"), 2);
}

TEST_F(KeyServiceTest, DomainsArePagedInNameOrder) {
    for (const auto* d : {"d.example", "a.example", "c.example", "b.example", "e.example"}) domain(d, "pulse");
    auto page = service_.list_domains(2, "").value();
    ASSERT_EQ(page.domains.size(), 2u);
    EXPECT_EQ(page.domains[0].domain.domain, "a.example");
    EXPECT_EQ(page.domains[1].domain.domain, "b.example");
    ASSERT_EQ(page.next, "b.example");
    page = service_.list_domains(2, *page.next).value();
    ASSERT_EQ(page.domains.size(), 2u);
    EXPECT_EQ(page.domains[0].domain.domain, "c.example");
    ASSERT_EQ(page.next, "d.example");
    page = service_.list_domains(2, *page.next).value();
    ASSERT_EQ(page.domains.size(), 1u);
    EXPECT_EQ(page.domains[0].domain.domain, "e.example");
    EXPECT_FALSE(page.next.has_value());
    // Exactly a page's worth: no next page announced.
    EXPECT_FALSE(service_.list_domains(5, "").value().next.has_value());
}

TEST_F(KeyServiceTest, DomainHasKeysMessageCountsInProperEnglish) {
    domain("example.com", "signal");
    create("example.com");
    auto r = service_.delete_domain("example.com", admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("still has 1 key "), std::string::npos) << r.error().message;
    create("example.com");
    r = service_.delete_domain("example.com", admin_);
    EXPECT_NE(r.error().message.find("still has 2 keys "), std::string::npos) << r.error().message;
}

// --- names and expiry -----------------------------------------------------------------

TEST_F(KeyServiceTest, NameIsTrimmed) {
    domain("example.com", "signal");
    EXPECT_EQ(create("example.com", "  Zapier Integration \t").key.key.name, "Zapier Integration");
}

TEST_F(KeyServiceTest, EmptyOrBlankNameIsRefused) {
    domain("example.com", "signal");
    for (const char* bad : {"", "   ", "\t\n"}) {
        const auto r = service_.create_key("example.com", bad, std::nullopt, admin_);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, util::error_code::validation_failed);
        EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"name"}));
    }
}

TEST_F(KeyServiceTest, NameOf100CharactersIsAcceptedAnd101Refused) {
    domain("example.com", "signal");
    create("example.com", std::string(100, 'n'));
    create("example.com", "  " + std::string(100, 'n') + "  ");  // trimmed first
    const auto r = service_.create_key("example.com", std::string(101, 'n'), std::nullopt, admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, util::error_code::validation_failed);
    EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"name"}));
}

TEST_F(KeyServiceTest, NameLengthCountsCodePoints) {
    domain("example.com", "signal");
    // 100 two-byte characters (200 bytes) are 100 characters.
    const auto k = create("example.com", utf8_e_acute(100));
    EXPECT_EQ(k.key.key.name, utf8_e_acute(100));
    const auto r = service_.create_key("example.com", utf8_e_acute(101), std::nullopt, admin_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"name"}));
}

TEST_F(KeyServiceTest, RenameAppliesTheSameNameRules) {
    domain("example.com", "signal");
    const auto a = create("example.com", "old");
    const auto r = service_.rename_key(a.key.key.id, "  new name ", admin_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().key.name, "new name");
    EXPECT_EQ(service_.get_key(a.key.key.id).value().key.name, "new name");
    EXPECT_EQ(service_.rename_key(a.key.key.id, " ", admin_).error().code, util::error_code::validation_failed);
    EXPECT_EQ(service_.rename_key(a.key.key.id, std::string(101, 'x'), admin_).error().code, util::error_code::validation_failed);
    EXPECT_EQ(service_.get_key(a.key.key.id).value().key.name, "new name");
}

TEST_F(KeyServiceTest, ExpiresAtNotInFutureIsRefused) {
    domain("example.com", "signal");
    for (const util::millis at : {start_ms - 1, start_ms - day, start_ms}) {
        const auto r = service_.create_key("example.com", "k", at, admin_);
        ASSERT_FALSE(r.ok()) << at;
        EXPECT_EQ(r.error().code, util::error_code::validation_failed);
        EXPECT_EQ(fields(r.error()), (std::vector<std::string>{"expires_at"}));
    }
    const auto k = create("example.com", "k", start_ms + 1);
    EXPECT_EQ(k.key.key.expires_at, start_ms + 1);
    EXPECT_EQ(k.key.status, "active");
}

TEST(KeyStatus, StatusAtDerivesExpired) {
    storage::key_record k;
    k.status = "active";
    EXPECT_EQ(key_service::status_at(k, 5000), "active");
    k.expires_at = 5000;
    EXPECT_EQ(key_service::status_at(k, 4999), "active");
    EXPECT_EQ(key_service::status_at(k, 5000), "expired");
    EXPECT_EQ(key_service::status_at(k, 9999), "expired");
    k.status = "revoked";
    EXPECT_EQ(key_service::status_at(k, 9999), "revoked");
    EXPECT_EQ(key_service::status_at(k, 1), "revoked");
}

// --- audit -----------------------------------------------------------------

TEST_F(KeyServiceTest, EveryActionIsAuditedWithActorAndNeverTheKey) {
    domain("example.com", "signal");
    ASSERT_TRUE(service_.put_domain("example.com", "clarity", admin_).ok());
    const auto a = create("example.com", "first");
    const auto b = create("example.com", "second");
    ASSERT_TRUE(service_.rename_key(a.key.key.id, "renamed", admin_).ok());
    ASSERT_TRUE(service_.revoke_key(a.key.key.id, admin_).ok());
    ASSERT_TRUE(service_.restore_key(a.key.key.id, admin_).ok());
    const auto rolled = service_.roll_key(b.key.key.id, day, admin_);
    ASSERT_TRUE(rolled.ok());
    const auto remaining = service_.list_keys("example.com").value();
    for (const auto& k : remaining.keys) {
        ASSERT_TRUE(service_.delete_key(k.key.id, admin_).ok());
    }
    ASSERT_TRUE(service_.delete_domain("example.com", admin_).ok());

    storage::listing_query q;
    q.domain = "example.com";
    q.limit = 100;
    const auto entries = store_.list_audit(q).items;
    std::multiset<std::string> actions;
    for (const auto& e : entries) {
        actions.insert(e.action);
        EXPECT_EQ(e.actor, admin_.id) << e.action;
        EXPECT_EQ(e.client_ip, admin_.client_ip) << e.action;
        EXPECT_EQ(e.domain, "example.com") << e.action;
        EXPECT_EQ(e.at, start_ms);
        const std::string details = e.details.value_or("");
        for (const auto* value : {&a.value, &b.value, &rolled.value().value}) {
            EXPECT_EQ(details.find(*value), std::string::npos) << e.action << ": " << details;
            EXPECT_EQ(details.find(value->substr(11)), std::string::npos) << e.action << ": " << details;
            EXPECT_EQ(details.find(util::sha256_hex(*value)), std::string::npos) << e.action;
        }
    }
    EXPECT_EQ(actions.count("domain.created"), 1u);
    EXPECT_EQ(actions.count("domain.plan_changed"), 1u);
    EXPECT_EQ(actions.count("key.created"), 2u);
    EXPECT_EQ(actions.count("key.renamed"), 1u);
    EXPECT_EQ(actions.count("key.revoked"), 1u);
    EXPECT_EQ(actions.count("key.restored"), 1u);
    EXPECT_EQ(actions.count("key.rolled"), 1u);
    EXPECT_EQ(actions.count("key.deleted"), 3u);
    EXPECT_EQ(actions.count("domain.deleted"), 1u);

    // Key actions name the key.
    for (const auto& e : entries) {
        if (e.action.starts_with("key.")) {
            EXPECT_TRUE(e.key_id.has_value()) << e.action;
        }
    }
}

TEST_F(KeyServiceTest, RefusedActionsAreNotAudited) {
    domain("example.com", "pulse");
    create("example.com", "a");
    create("example.com", "b");
    ASSERT_FALSE(service_.create_key("example.com", "c", std::nullopt, admin_).ok());
    ASSERT_FALSE(service_.delete_domain("example.com", admin_).ok());
    storage::listing_query q;
    q.domain = "example.com";
    EXPECT_EQ(store_.list_audit(q).items.size(), 3u);  // domain.created + 2 key.created
}

TEST_F(KeyServiceTest, UnchangedPlanIsNotAudited) {
    domain("example.com", "pulse");
    domain("example.com", "pulse");
    storage::listing_query q;
    q.domain = "example.com";
    EXPECT_EQ(store_.list_audit(q).items.size(), 1u);
}

// --- other processes -------------------------------------------------------------

TEST_F(KeyServiceTest, ReloadIfChangedSeesChangesFromAnotherProcess) {
    domain("example.com", "pulse");
    service_.reload();
    // Another process (the CLI) works on the same database with its own store and index.
    storage::sqlite::sqlite_storage other_store(options_for(dir_.file("cc.db")));
    keys::key_registry other_registry;
    lcg_random other_random(7);
    key_service other(other_store, other_registry, clock_, other_random);
    const auto made = other.create_key("example.com", "cli", std::nullopt, {"cli", std::nullopt});
    ASSERT_TRUE(made.ok());
    EXPECT_FALSE(lookup(made.value().value).has_value());
    service_.reload_if_changed();
    ASSERT_TRUE(lookup(made.value().value).has_value());

    // The plan limit holds across processes: the CLI's key counts here.
    create("example.com", "here");
    EXPECT_EQ(service_.create_key("example.com", "third", std::nullopt, admin_).error().code, util::error_code::plan_limit_reached);

    ASSERT_TRUE(other.delete_key(made.value().key.key.id, {"cli", std::nullopt}).ok());
    service_.reload_if_changed();
    EXPECT_FALSE(lookup(made.value().value).has_value());
}

// --- event listings -----------------------------------------------------------------

namespace {

events::event listed_event(const std::string& id, const std::string& name) {
    events::event e;
    e.event_id = id;
    e.name = name;
    e.email = "a@example.com";
    e.occurred_at = start_ms;
    e.raw = R"({"event":")" + name + R"("})";
    return e;
}

std::vector<std::string> ids_of(const storage::page<storage::event_record>& page) {
    std::vector<std::string> out;
    for (const auto& r : page.items) out.push_back(r.event.event_id.value_or(""));
    return out;
}

}  // namespace

TEST_F(KeyServiceTest, EventsKeepTheKeyNameAndPrefixAfterTheKeyIsDeleted) {
    domain("example.com", "signal");
    const auto a = create("example.com", "Zapier");
    const auto e = listed_event("ev-1", "purchase");
    const std::vector<storage::event_insert> batch = {{"example.com", a.key.key.id, start_ms, &e}};
    ASSERT_EQ(store_.insert_events(batch).size(), 1u);
    ASSERT_TRUE(service_.delete_key(a.key.key.id, admin_).ok());
    storage::listing_query q;
    q.domain = "example.com";
    const auto page = store_.list_events(q);
    ASSERT_EQ(page.items.size(), 1u);
    EXPECT_EQ(page.items[0].key_id, a.key.key.id);
    EXPECT_EQ(page.items[0].key_name, "Zapier");
    EXPECT_EQ(page.items[0].key_prefix, a.key.key.prefix);
}

TEST_F(KeyServiceTest, EventFiltersNarrowTheListing) {
    domain("example.com", "signal");
    const auto a = create("example.com", "a");
    const auto b = create("example.com", "b");
    const auto e1 = listed_event("ev-1", "purchase");
    const auto e2 = listed_event("ev-2", "lead");
    const auto e3 = listed_event("ev-3", "purchase");
    const std::vector<storage::event_insert> batch = {{"example.com", a.key.key.id, start_ms, &e1},
                                                      {"example.com", b.key.key.id, start_ms + second, &e2},
                                                      {"example.com", a.key.key.id, start_ms + 2 * second, &e3}};
    store_.insert_events(batch);
    const auto run = [&](auto&& fill) {
        storage::listing_query q;
        q.domain = "example.com";
        fill(q);
        return ids_of(store_.list_events(q));
    };
    using ids = std::vector<std::string>;
    EXPECT_EQ(run([](auto&) {}), (ids{"ev-3", "ev-2", "ev-1"}));
    EXPECT_EQ(run([&](auto& q) { q.key_id = a.key.key.id; }), (ids{"ev-3", "ev-1"}));
    EXPECT_EQ(run([](auto& q) { q.event_name = "lead"; }), (ids{"ev-2"}));
    EXPECT_EQ(run([](auto& q) { q.event_id = "ev-1"; }), (ids{"ev-1"}));
    EXPECT_EQ(run([](auto& q) { q.since = start_ms + second; }), (ids{"ev-3", "ev-2"}));
    EXPECT_EQ(run([](auto& q) { q.until = start_ms + second; }), (ids{"ev-1"}));
    EXPECT_EQ(run([&](auto& q) {
                  q.key_id = a.key.key.id;
                  q.event_name = "purchase";
                  q.since = start_ms + second;
              }),
              (ids{"ev-3"}));
    EXPECT_EQ(run([](auto& q) { q.event_id = "ev-9"; }), (ids{}));
    // Filters and the cursor together: page through one key's events.
    storage::listing_query q;
    q.domain = "example.com";
    q.key_id = a.key.key.id;
    q.limit = 1;
    auto page = store_.list_events(q);
    EXPECT_EQ(ids_of(page), (ids{"ev-3"}));
    ASSERT_TRUE(page.next.has_value());
    q.before = page.next;
    page = store_.list_events(q);
    EXPECT_EQ(ids_of(page), (ids{"ev-1"}));
    EXPECT_FALSE(page.next.has_value());
}

// --- migration 0002 -----------------------------------------------------------------

TEST(KeyRollMigration, KeysRolledBeforeTheUpgradeGetTheirSuccessorFromTheAuditTrail) {
    temp_dir dir;
    const auto path = dir.file("old.db");
    {
        // A database as the previous release left it: migration 0001 only.
        storage::sqlite::database db(options_for(path));
        const std::vector<storage::migration> first{storage::embedded_migrations().front()};
        ASSERT_EQ(first.front().version, 1);
        storage::apply_migrations(db, first);
        db.exec("INSERT INTO domains VALUES ('example.com', 'pulse', 1)");
        db.exec("INSERT INTO api_keys (id, domain, name, prefix, key_hash, status, created_at, expires_at) "
                "VALUES ('key_old', 'example.com', 'n', 'cc_aaaaaaaa', x'01', 'active', 1, 99), "
                "('key_new', 'example.com', 'n', 'cc_bbbbbbbb', x'02', 'active', 2, NULL), "
                "('key_other', 'example.com', 'm', 'cc_cccccccc', x'03', 'active', 3, NULL)");
        db.exec("INSERT INTO audit_log (at, actor, action, domain, key_id, details) VALUES "
                "(2, 'cli', 'key.rolled', 'example.com', 'key_old', '{\"new_key_id\":\"key_new\"}')");
    }
    storage::sqlite::sqlite_storage store(options_for(path));
    auto tx = store.begin_admin(false);
    EXPECT_EQ(tx->find_key("key_old")->rolled_to, "key_new");
    EXPECT_FALSE(tx->find_key("key_new")->rolled_to.has_value());
    EXPECT_FALSE(tx->find_key("key_other")->rolled_to.has_value());
}
