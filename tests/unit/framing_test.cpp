#include "cc/web/framing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/request_head.hpp"

using namespace cc::web;
using cc::testing::head;

namespace {

std::string code_of(request req) {
    const auto e = check_request_head(req);
    return e ? std::string(cc::util::to_text(e->code)) : "ok";
}

}  // namespace

TEST(TransferEncoding, FinalCodingNotChunkedIs400) {
    for (const char* te : {"gzip", "pigeons", "identity", "chunked, gzip", "chunkedchunked", "chunked;x=1", "chunked, chunked", "\xa0" "chunked", ""}) {
        EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", te}})), "bad_request") << te;
    }
}

TEST(TransferEncoding, UnknownCodingBeforeChunkedIs501) {
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}})), "not_implemented");
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}})),
              "not_implemented");
}

TEST(TransferEncoding, ChunkedAloneIsFine) {
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}})), "ok");
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", " Chunked "}})), "ok");
    // List syntax Beast might read differently is refused rather than guessed at.
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "chunked,"}})), "bad_request");
}

TEST(TransferEncoding, WithContentLengthOrOnHttp10IsRefused) {
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "identity"}, {"Content-Length", "3"}})),
              "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::post, "/", 10, {{"Transfer-Encoding", "chunked"}})), "bad_request");
}

TEST(RequestLine, OnlyHttp1IsServed) {
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 20, {{"Host", "a"}})), "http_version_not_supported");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 9, {{"Host", "a"}})), "http_version_not_supported");
}

TEST(HostRule, Http11NeedsExactlyOneValidHost) {
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 11, {})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 11, {{"Host", "a.com"}, {"X", "y"}, {"Host", "b.com"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 10, {})), "ok");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 10, {{"Host", "a"}, {"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/", 11, {{"Host", "A, 127.0.0.1"}})), "bad_request");
}

TEST(HostRule, ValidAndInvalidValues) {
    for (const char* ok : {"example.com", "example.com.", "EXAMPLE.com:443", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[2001:db8::1]:80",
                           "localhost", "under_score.example", ""}) {
        EXPECT_TRUE(is_valid_host(ok)) << ok;
    }
    for (const char* bad : {"other.com..", "other.com:1:2", "other.com:", "other.com:99999", "other.com:8a", ".other.com", "a..b",
                            "a b", "a@b", "[::1", "[zz::1]", "[::1]x", "a,b", "exa\xc3\xa9mple.com", "a/b"}) {
        EXPECT_FALSE(is_valid_host(bad)) << bad;
    }
    EXPECT_FALSE(is_valid_host(std::string(64, 'a') + ".com"));
}

TEST(RequestTarget, NonAsciiOrUnknownFormIs400) {
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/\xff", 11, {{"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "/a\x7f", 11, {{"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "healthz", 11, {{"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "ftp://a/x", 11, {{"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::get, "http://u@a/x", 11, {{"Host", "a"}})), "bad_request");
    EXPECT_EQ(code_of(head(bhttp::verb::options, "*", 11, {{"Host", "a"}})), "ok");
}

TEST(RequestTarget, AbsoluteFormBecomesOriginFormWithItsAuthorityAsHost) {
    auto req = head(bhttp::verb::post, "HTTP://Other.com:8080/__cc/inbound?x=1", 11, {{"Host", "127.0.0.1"}});
    ASSERT_FALSE(check_request_head(req));
    EXPECT_EQ(req.target(), "/__cc/inbound?x=1");
    EXPECT_EQ(req[bhttp::field::host], "Other.com:8080");
    auto bare = head(bhttp::verb::get, "https://a.com", 11, {{"Host", "a.com"}});
    ASSERT_FALSE(check_request_head(bare));
    EXPECT_EQ(bare.target(), "/");
    auto query = head(bhttp::verb::get, "http://a.com?q", 11, {{"Host", "a.com"}});
    ASSERT_FALSE(check_request_head(query));
    EXPECT_EQ(query.target(), "/?q");
}

TEST(HeadBytes, ObsFoldIsRefused) {
    EXPECT_TRUE(check_head_bytes("GET / HTTP/1.1\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n"));
    EXPECT_TRUE(check_head_bytes("GET / HTTP/1.1\r\nFoo: bar\r\n\tx\r\n\r\n"));
    EXPECT_TRUE(check_head_bytes("GET / HTTP/1.1\r\n Host: a\r\n\r\n"));
    EXPECT_FALSE(check_head_bytes("GET / HTTP/1.1\r\nFoo: bar baz\r\n\r\n"));
}

TEST(HeadBytes, ScanFindsTheEndAndBareLineEndings) {
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    EXPECT_EQ(scan_head(head).end, head.size() - 4);
    EXPECT_EQ(scan_head("GET / HTTP/1.1\r\nHost: a\r\n").end, std::string_view::npos);
    EXPECT_TRUE(scan_head("GET / HTTP/1.1\nHost: a\n\n").error);
    EXPECT_TRUE(scan_head("GET / HTTP/1.1\rHost: a\r\n\r\n").error);
    EXPECT_FALSE(scan_head("GET / HTTP/1.1\r").error);  // the LF may still come
    // Resuming where an earlier scan stopped finds an end split across reads.
    const std::string split = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    EXPECT_EQ(scan_head(split, split.size() - 5).end, split.size());
}
