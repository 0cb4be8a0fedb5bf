#include "cc/events/json_slices.hpp"

#include <gtest/gtest.h>

using cc::events::array_element_texts;

TEST(BatchRawText, EachElementIsKeptByteForByte) {
    const std::string body = R"({"events": [ {"event":"a", "value": 1.50 } ,{"b":"x,]}\"y"},  [1,2], "s", 3 ]})";
    const auto texts = array_element_texts(body, "events");
    ASSERT_EQ(texts.size(), 5u);
    EXPECT_EQ(texts[0], R"({"event":"a", "value": 1.50 })");
    EXPECT_EQ(texts[1], R"({"b":"x,]}\"y"})");
    EXPECT_EQ(texts[2], "[1,2]");
    EXPECT_EQ(texts[3], R"("s")");
    EXPECT_EQ(texts[4], "3");
}

TEST(BatchRawText, OtherMembersAndNestingAreSkipped) {
    const std::string body = R"({"meta":{"events":[9]},"events":[{"x":[{"y":"]"}]}],"tail":true})";
    const auto texts = array_element_texts(body, "events");
    ASSERT_EQ(texts.size(), 1u);
    EXPECT_EQ(texts[0], R"({"x":[{"y":"]"}]})");
}

TEST(BatchRawText, MissingOrNonArrayMemberGivesNothing) {
    EXPECT_TRUE(array_element_texts(R"({"other":[1]})", "events").empty());
    EXPECT_TRUE(array_element_texts(R"({"events":{"a":1}})", "events").empty());
    EXPECT_TRUE(array_element_texts(R"([1,2])", "events").empty());
    EXPECT_TRUE(array_element_texts(R"({"events":[]})", "events").empty());
}

TEST(BatchRawText, TheLastDuplicateMemberWinsAsInTheParsedDocument) {
    const auto texts = array_element_texts(R"({"events":[1],"events":[2,3]})", "events");
    ASSERT_EQ(texts.size(), 2u);
    EXPECT_EQ(texts[0], "2");
}
