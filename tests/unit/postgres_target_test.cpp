#include <gtest/gtest.h>

#include "cc/storage/postgres/connection.hpp"

namespace {

using cc::storage::postgres::describe_target;
using cc::storage::postgres::pg_error;

TEST(PostgresTarget, UrlNamesHostPortDatabaseAndUserButNotThePassword) {
    const auto text = describe_target("postgresql://cc:s3cret-pw@db.internal:6543/ccprod?sslmode=require");
    EXPECT_EQ(text, "host=db.internal port=6543 dbname=ccprod user=cc");
    EXPECT_EQ(text.find("s3cret-pw"), std::string::npos);
}

TEST(PostgresTarget, KeyValueFormNamesTheSameParts) {
    const auto text = describe_target("host=10.0.0.5 dbname=cc user=svc password=s3cret-pw");
    EXPECT_EQ(text, "host=10.0.0.5 port=5432 dbname=cc user=svc");
}

TEST(PostgresTarget, MalformedStringIsRefusedWithoutQuotingIt) {
    try {
        describe_target("postgresql://cc:s3cret-pw@host/db?no_such_option=1");
        FAIL() << "expected pg_error";
    } catch (const pg_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("CC_DATABASE_URL"), std::string::npos);
        EXPECT_EQ(what.find("s3cret-pw"), std::string::npos);
        EXPECT_TRUE(e.connection_lost());
    }
}

}  // namespace
