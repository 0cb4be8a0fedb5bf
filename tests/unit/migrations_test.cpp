#include "cc/storage/migrations.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "cc/storage/sqlite/database.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"
#include "cc/storage/storage_error.hpp"

#include "support/database.hpp"
#include "support/temp_dir.hpp"

using namespace cc;
using storage::migration;
namespace fs = std::filesystem;

namespace {

using cc::testing::temp_dir;

using cc::testing::options_for;

/// Lower-case hex SHA-256, computed with OpenSSL directly.
std::string sha256_hex(const std::string& text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
    }
    return out;
}

bool table_exists(storage::sqlite::database& db, const std::string& name) {
    storage::sqlite::statement_scope s(db.prepared("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    s->bind(1, std::string_view(name));
    s->step();
    return s->column_int64(0) == 1;
}

struct recorded {
    int version;
    std::string name;
    std::string checksum;
};

std::vector<recorded> recorded_migrations(storage::sqlite::database& db) {
    storage::sqlite::statement_scope s(
        db.prepared("SELECT version, name, checksum FROM schema_migrations ORDER BY version"));
    std::vector<recorded> out;
    while (s->step()) out.push_back({static_cast<int>(s->column_int64(0)), s->column_text(1), s->column_text(2)});
    return out;
}

/// Two migrations where the second depends on the first, given out of order.
std::vector<migration> two_migrations() {
    return {
        {2, "0002_add_colour", "ALTER TABLE widgets ADD COLUMN colour TEXT;"},
        {1, "0001_widgets", "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
    };
}

events::event make_event(const std::string& id, const std::string& name = "purchase") {
    events::event e;
    e.event_id = id;
    e.name = name;
    e.email = "a@example.com";
    e.occurred_at = 1'700'000'000'000;
    e.raw = R"({"event":")" + name + R"("})";
    return e;
}

}  // namespace

TEST(Migrations, FreshDatabaseGetsAllInOrderAndRecordsThem) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    const auto known = two_migrations();
    const auto report = storage::apply_migrations(db, known);
    EXPECT_EQ(report.applied, (std::vector<int>{1, 2}));
    EXPECT_EQ(report.current, 2);
    EXPECT_TRUE(table_exists(db, "widgets"));
    db.exec("INSERT INTO widgets (name, colour) VALUES ('w', 'red')");  // 0002 ran after 0001

    const auto rows = recorded_migrations(db);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].version, 1);
    EXPECT_EQ(rows[0].name, "0001_widgets");
    EXPECT_EQ(rows[0].checksum, sha256_hex(known[1].sql));
    EXPECT_EQ(rows[1].version, 2);
    EXPECT_EQ(rows[1].name, "0002_add_colour");
    EXPECT_EQ(rows[1].checksum, sha256_hex(known[0].sql));
}

TEST(Migrations, SecondRunAppliesNothing) {
    temp_dir dir;
    const auto path = dir.file("m.db");
    {
        storage::sqlite::database db(options_for(path));
        storage::apply_migrations(db, two_migrations());
    }
    storage::sqlite::database db(options_for(path));
    const auto report = storage::apply_migrations(db, two_migrations());
    EXPECT_TRUE(report.applied.empty());
    EXPECT_EQ(report.current, 2);
    EXPECT_EQ(recorded_migrations(db).size(), 2u);
}

TEST(Migrations, OnlyMissingOnesAreApplied) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    auto known = two_migrations();
    const std::vector<migration> first = {known[1]};
    EXPECT_EQ(storage::apply_migrations(db, first).applied, (std::vector<int>{1}));
    const auto report = storage::apply_migrations(db, known);
    EXPECT_EQ(report.applied, (std::vector<int>{2}));
    EXPECT_EQ(report.current, 2);
}

TEST(Migrations, DatabaseNewerThanBinaryIsRefused) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    storage::apply_migrations(db, two_migrations());
    const std::vector<migration> older = {two_migrations()[1]};  // knows only version 1
    EXPECT_THROW(storage::apply_migrations(db, older), storage::storage_error);
}

TEST(Migrations, ChangedSqlOfAppliedVersionIsRefused) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    storage::apply_migrations(db, two_migrations());
    auto changed = two_migrations();
    changed[0].sql = "ALTER TABLE widgets ADD COLUMN color TEXT;";
    EXPECT_THROW(storage::apply_migrations(db, changed), storage::storage_error);
}

TEST(Migrations, ChangedSqlIsRefusedBeforeApplyingNewOnes) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    const std::vector<migration> first = {two_migrations()[1]};
    storage::apply_migrations(db, first);
    auto changed = two_migrations();
    changed[1].sql += " -- edited";
    EXPECT_THROW(storage::apply_migrations(db, changed), storage::storage_error);
    EXPECT_EQ(recorded_migrations(db).size(), 1u);  // 0002 was not applied on top of it
}

TEST(Migrations, FailingMigrationRollsBackAndIsNotRecorded) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    std::vector<migration> known = {
        {1, "0001_widgets", "CREATE TABLE widgets (id INTEGER PRIMARY KEY);"},
        {2, "0002_broken", "CREATE TABLE gadgets (id INTEGER PRIMARY KEY); INSERT INTO no_such_table VALUES (1);"},
    };
    EXPECT_THROW(storage::apply_migrations(db, known), storage::storage_error);
    EXPECT_TRUE(table_exists(db, "widgets"));   // 0001 was committed on its own
    EXPECT_FALSE(table_exists(db, "gadgets"));  // 0002's first statement was rolled back
    const auto rows = recorded_migrations(db);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].version, 1);

    // Fixing the file lets the next run apply it.
    known[1].sql = "CREATE TABLE gadgets (id INTEGER PRIMARY KEY);";
    EXPECT_EQ(storage::apply_migrations(db, known).applied, (std::vector<int>{2}));
    EXPECT_TRUE(table_exists(db, "gadgets"));
}

TEST(EmbeddedMigrations, AreNonEmptyOrderedAndStartAtOne) {
    const auto& all = storage::embedded_migrations();
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.front().version, 1);
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_FALSE(all[i].name.empty());
        EXPECT_FALSE(all[i].sql.empty());
        if (i > 0) {
            EXPECT_GT(all[i].version, all[i - 1].version) << all[i].name;
        }
    }
}

TEST(EmbeddedMigrations, ApplyToFreshDatabase) {
    temp_dir dir;
    storage::sqlite::database db(options_for(dir.file("m.db")));
    const auto& all = storage::embedded_migrations();
    const auto report = storage::apply_migrations(db, all);
    EXPECT_EQ(report.applied.size(), all.size());
    EXPECT_EQ(report.current, all.back().version);
    for (const char* table : {"domains", "api_keys", "events", "audit_log", "registry_version"}) {
        EXPECT_TRUE(table_exists(db, table)) << table;
    }
}

TEST(SqliteStorage, OpensInWalModeAndMigrates) {
    temp_dir dir;
    const auto path = dir.file("s.db");
    {
        storage::sqlite::sqlite_storage store(options_for(path));
        EXPECT_EQ(store.migrations().applied.size(), storage::embedded_migrations().size());
        storage::sqlite::database probe(options_for(path));
        storage::sqlite::statement_scope s(probe.prepared("PRAGMA journal_mode"));
        ASSERT_TRUE(s->step());
        EXPECT_EQ(s->column_text(0), "wal");
    }
    // The journal mode is persistent: a plain read-only connection sees it too.
    auto ro = options_for(path);
    ro.read_only = true;
    storage::sqlite::database probe(ro);
    storage::sqlite::statement_scope s(probe.prepared("PRAGMA journal_mode"));
    ASSERT_TRUE(s->step());
    EXPECT_EQ(s->column_text(0), "wal");
}

TEST(SqliteStorage, ReopeningAppliesNoMigrations) {
    temp_dir dir;
    const auto path = dir.file("s.db");
    { storage::sqlite::sqlite_storage first(options_for(path)); }
    storage::sqlite::sqlite_storage second(options_for(path));
    EXPECT_TRUE(second.migrations().applied.empty());
    EXPECT_NO_THROW(second.check());
}

TEST(SqliteStorage, InsertEventsDedupesOnDomainAndEventId) {
    temp_dir dir;
    storage::sqlite::sqlite_storage store(options_for(dir.file("s.db")));
    const auto a = make_event("evt-a");
    const auto b = make_event("evt-b");
    const auto a_again = make_event("evt-a", "lead");
    const auto c = make_event("evt-c");
    using storage::insert_outcome;

    std::vector<storage::event_insert> first = {{"example.com", "key_1", 1000, &a}, {"example.com", "key_1", 1000, &b}};
    EXPECT_EQ(store.insert_events(first), (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::inserted}));

    std::vector<storage::event_insert> second = {{"example.com", "key_2", 2000, &a_again},
                                                 {"example.com", "key_1", 2000, &c},
                                                 {"other.com", "key_3", 2000, &a}};
    EXPECT_EQ(store.insert_events(second), (std::vector<insert_outcome>{insert_outcome::duplicate, insert_outcome::inserted,
                                                                        insert_outcome::inserted}));

    // A repeat within one group is a duplicate of the first.
    const auto d = make_event("evt-d");
    std::vector<storage::event_insert> third = {{"example.com", "key_1", 3000, &d}, {"example.com", "key_1", 3000, &d}};
    EXPECT_EQ(store.insert_events(third), (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::duplicate}));

    storage::listing_query q;
    q.domain = "example.com";
    q.limit = 100;
    const auto listed = store.list_events(q);
    ASSERT_EQ(listed.items.size(), 4u);  // a, b, c, d
    for (const auto& r : listed.items) {
        if (r.event.event_id == "evt-a") {
            EXPECT_EQ(r.event.name, "purchase");  // the duplicate did not overwrite the original
            EXPECT_EQ(r.key_id, "key_1");
        }
    }
}

TEST(SqliteStorage, ListEventsNewestFirstWithWorkingCursor) {
    temp_dir dir;
    storage::sqlite::sqlite_storage store(options_for(dir.file("s.db")));
    std::vector<events::event> evs;
    for (int i = 0; i < 7; ++i) evs.push_back(make_event("e" + std::to_string(i)));
    const auto other = make_event("other");
    for (int i = 0; i < 7; ++i) {
        std::vector<storage::event_insert> one = {{"example.com", "key_1", 1000 + i, &evs[static_cast<std::size_t>(i)]}};
        store.insert_events(one);
        if (i == 3) {
            std::vector<storage::event_insert> o = {{"other.com", "key_9", 1000, &other}};
            store.insert_events(o);
        }
    }

    storage::listing_query q;
    q.domain = "example.com";
    q.limit = 3;
    std::vector<std::string> seen;
    std::int64_t last_seq = INT64_MAX;
    int pages = 0;
    for (;;) {
        const auto p = store.list_events(q);
        ++pages;
        ASSERT_LE(p.items.size(), 3u);
        for (const auto& r : p.items) {
            EXPECT_LT(r.seq, last_seq);
            last_seq = r.seq;
            EXPECT_EQ(r.domain, "example.com");
            seen.push_back(*r.event.event_id);
        }
        if (!p.next) break;
        q.before = p.next;
        ASSERT_LT(pages, 10);
    }
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(seen, (std::vector<std::string>{"e6", "e5", "e4", "e3", "e2", "e1", "e0"}));
}

TEST(SqliteStorage, ListEventsExactPageHasNoNext) {
    temp_dir dir;
    storage::sqlite::sqlite_storage store(options_for(dir.file("s.db")));
    const auto a = make_event("a");
    const auto b = make_event("b");
    std::vector<storage::event_insert> two = {{"example.com", "k", 1, &a}, {"example.com", "k", 2, &b}};
    store.insert_events(two);
    storage::listing_query q;
    q.limit = 2;
    const auto p = store.list_events(q);
    EXPECT_EQ(p.items.size(), 2u);
    EXPECT_FALSE(p.next.has_value());
}

TEST(SqliteStorage, ListAuditPagesNewestFirst) {
    temp_dir dir;
    storage::sqlite::sqlite_storage store(options_for(dir.file("s.db")));
    {
        auto tx = store.begin_admin();
        for (int i = 0; i < 5; ++i) {
            storage::audit_record r;
            r.at = 1000 + i;
            r.actor = "adm_1234abcd";
            r.action = "key.created";
            r.domain = (i == 2) ? "other.com" : "example.com";
            r.key_id = "key_" + std::to_string(i);
            tx->append_audit(r);
        }
        tx->commit();
    }
    storage::listing_query q;
    q.domain = "example.com";
    q.limit = 2;
    std::vector<std::string> seen;
    for (int guard = 0; guard < 10; ++guard) {
        const auto p = store.list_audit(q);
        for (const auto& r : p.items) {
            EXPECT_EQ(r.domain, "example.com");
            EXPECT_EQ(r.actor, "adm_1234abcd");
            seen.push_back(*r.key_id);
        }
        if (!p.next) break;
        q.before = p.next;
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"key_4", "key_3", "key_1", "key_0"}));

    storage::listing_query all;
    all.limit = 50;
    EXPECT_EQ(store.list_audit(all).items.size(), 5u);
}

TEST(SqliteStorage, UncommittedAdminTransactionRollsBack) {
    temp_dir dir;
    storage::sqlite::sqlite_storage store(options_for(dir.file("s.db")));
    {
        auto tx = store.begin_admin();
        tx->upsert_domain({"example.com", "pulse", 1});
    }
    EXPECT_TRUE(store.load_domains().empty());
}
