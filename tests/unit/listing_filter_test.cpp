#include "cc/storage/sqlite/listing_filter.hpp"

#include <gtest/gtest.h>

#include <string>

#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"

#include "support/database.hpp"
#include "support/temp_dir.hpp"

using namespace cc;
using storage::sqlite::database;
using storage::sqlite::listing_filter;
using storage::sqlite::statement;

namespace {

/// SQLite's plan for `sql`, its detail lines joined: which index each step uses.
std::string plan_of(database& db, const std::string& sql, const listing_filter& filter) {
    statement s(db.handle(), "EXPLAIN QUERY PLAN " + sql);
    s.bind(filter.bind(s), std::int64_t{51});
    std::string plan;
    while (s.step()) plan += s.column_text(3) + "\n";
    return plan;
}

std::string events_page(const listing_filter& filter) {
    return "SELECT seq FROM events e" + filter.where() + " ORDER BY e.seq DESC LIMIT ?";
}

class ListingFilterTest : public ::testing::Test {
protected:
    ListingFilterTest() {
        // The store applies the migrations: the plans below are those of the real schema.
        storage::sqlite::sqlite_storage store(cc::testing::options_for(dir_.file("plans.db")));
    }
    database open() { return database(cc::testing::options_for(dir_.file("plans.db"))); }
    cc::testing::temp_dir dir_;
};

}  // namespace

TEST(ListingFilter, HoldsOnlyThePresentFiltersInOrder) {
    listing_filter filter;
    filter.equals("domain", std::string("example.com"))
        .compare("seq", "<", std::nullopt)
        .equals("key_id", std::nullopt)
        .compare("received_at", ">=", std::int64_t{5});
    EXPECT_EQ(filter.where(), " WHERE domain = ? AND received_at >= ?");
    EXPECT_EQ(listing_filter().where(), "");
}

TEST_F(ListingFilterTest, BindsTheValuesInTheClauseOrderAndReturnsTheNextIndex) {
    auto db = open();
    listing_filter filter;
    filter.equals("a", std::string("x")).compare("b", "<", std::int64_t{7});
    statement s(db.handle(), "SELECT ?1, ?2, ?3");
    EXPECT_EQ(filter.bind(s), 3);
    s.bind(3, std::int64_t{9});
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.column_text(0), "x");
    EXPECT_EQ(s.column_text(1), "7");
    EXPECT_EQ(s.column_text(2), "9");
}

TEST_F(ListingFilterTest, ADomainsEventsAreListedThroughItsIndexNotByScanningTheTable) {
    auto db = open();
    listing_filter by_domain;
    by_domain.equals("e.domain", std::string("example.com")).compare("e.seq", "<", std::int64_t{1000});
    const auto plan = plan_of(db, events_page(by_domain), by_domain);
    EXPECT_NE(plan.find("events_by_domain"), std::string::npos) << plan;

    // Key and event-name filters are checked on the rows of the same walk.
    listing_filter by_key;
    by_key.equals("e.domain", std::string("example.com")).equals("e.key_id", std::string("key_1"));
    EXPECT_NE(plan_of(db, events_page(by_key), by_key).find("events_by_domain"), std::string::npos);
}

TEST_F(ListingFilterTest, AnEventIdIsFoundThroughTheUniqueIndex) {
    auto db = open();
    listing_filter filter;
    filter.equals("e.domain", std::string("example.com")).equals("e.event_id", std::string("evt_1"));
    const auto plan = plan_of(db, events_page(filter), filter);
    EXPECT_NE(plan.find("sqlite_autoindex_events"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN e"), std::string::npos) << plan;
}

TEST_F(ListingFilterTest, AuditAndRejectionListingsUseTheirDomainIndexes) {
    auto db = open();
    listing_filter filter;
    filter.equals("domain", std::string("example.com"));
    EXPECT_NE(plan_of(db, "SELECT id FROM audit_log" + filter.where() + " ORDER BY id DESC LIMIT ?", filter)
                  .find("audit_log_by_domain"),
              std::string::npos);
    EXPECT_NE(plan_of(db, "SELECT id FROM rejections" + filter.where() + " ORDER BY id DESC LIMIT ?", filter)
                  .find("rejections_by_domain"),
              std::string::npos);
}
