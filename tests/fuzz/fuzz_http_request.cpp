// Fuzzes the front of the server: raw bytes through what connection.cpp does with them
// (leading empty lines skipped, the head scanned for bare CR/LF and obs-fold, Beast's
// request parser with the server's limits, the RFC 9112 head rules of cc/web/framing.hpp,
// the chunk-size line bound), up to a few pipelined requests per input, then what the
// server does with each head: split the target, match the router (holding the service's
// real route patterns), read query parameters, and take the Host apart as the inbound
// domain check does.
//
// The smuggling invariant: a strict, independent reading of the same bytes (oracle_split
// below: RFC 9112 framing only, nothing else) finds the complete, validly framed requests
// the input contains; the server never serves more requests than that, and the ones it
// serves have the same methods and body sizes, in order. A request hidden in another's
// body, or a body read as a request, breaks it. tests/fuzz/fuzz_http_request.dict holds
// the tokens that matter (Transfer-Encoding, chunked, obs-fold, Host, ...).
//
// Input: the first byte picks how the bytes arrive (segments of 1, 2, 3, 5, 16, 100, 1460
// bytes, or all at once); the rest is what a client sends on one connection.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include <utility>  // before any Asio header (Boost 1.74 with C++20)

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "cc/web/framing.hpp"
#include "cc/web/router.hpp"
#include "cc/keys/domain_name.hpp"

#include <optional>
#include <vector>

namespace {

namespace http = boost::beast::http;
using cc::web::bhttp::verb;

constexpr std::size_t header_limit = 16 * 1024;
// As connection.cpp: the bounded connection buffer.
constexpr std::size_t buffer_limit = header_limit + 2 * cc::web::max_chunk_header_bytes;

[[noreturn]] void broken(const char* rule, std::string_view detail = {}) {
    std::fprintf(stderr, "http rule broken: %s [%.*s]\n", rule, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

/// @brief The service's routes (src/api/*_api.cpp register_routes), with handlers that do nothing.
const cc::web::router& service_routes() {
    static const cc::web::router routes = [] {
        cc::web::router r;
        const auto nothing = [](cc::web::request_context&, cc::web::responder) {};
        r.add(verb::post, "/__cc/inbound", 32 * 1024, nothing);
        r.add(verb::post, "/__cc/inbound/batch", 1024 * 1024, nothing);
        r.add(verb::get, "/healthz", 0, nothing);
        r.add(verb::get, "/readyz", 0, nothing);
        r.add(verb::get, "/metrics", 0, nothing);
        const std::pair<verb, const char*> admin[] = {
            {verb::get, "/admin/domains"},
            {verb::put, "/admin/domains/{domain}"},
            {verb::get, "/admin/domains/{domain}"},
            {verb::delete_, "/admin/domains/{domain}"},
            {verb::post, "/admin/keys"},
            {verb::get, "/admin/keys"},
            {verb::get, "/admin/keys/{id}"},
            {verb::patch, "/admin/keys/{id}"},
            {verb::delete_, "/admin/keys/{id}"},
            {verb::post, "/admin/keys/{id}/revoke"},
            {verb::post, "/admin/keys/{id}/restore"},
            {verb::post, "/admin/keys/{id}/roll"},
            {verb::get, "/admin/events"},
            {verb::get, "/admin/audit"},
        };
        std::string last;
        for (const auto& [method, pattern] : admin) {
            if (last != pattern) r.add(verb::options, pattern, 64 * 1024, nothing);  // the preflight
            r.add(method, pattern, 64 * 1024, nothing);
            last = pattern;
        }
        return r;
    }();
    return routes;
}

void check_target(verb method, std::string_view target) {
    const auto [path, query] = cc::web::split_target(target);
    if (path.size() + (target.size() > path.size() ? 1 + query.size() : 0) != target.size()) {
        broken("split_target keeps every byte", target);
    }
    const auto match = service_routes().match(method, path);
    if (match.found) {
        // HEAD is answered by the GET route of the same path (RFC 9110 §9.3.2).
        const bool head_by_get = method == verb::head && match.found->method == verb::get;
        if (match.found->method != method && !head_by_get) broken("a match has the request's method", target);
        if (match.body_limit != match.found->body_limit) broken("a match carries its route's body limit", target);
        if (match.pattern != match.found->pattern) broken("a match names its pattern", target);
        for (const auto& [name, value] : match.params) {
            if (value.empty()) broken("path parameters are never empty", target);
            if (match.pattern.find("{" + name + "}") == std::string::npos) broken("parameters come from the pattern", name);
        }
        if (match.params.empty() != (match.pattern.find('{') == std::string::npos)) {
            broken("every pattern parameter is filled", target);
        }
        // What handlers do with them.
        for (const auto& [name, value] : match.params) {
            if (name == "domain") (void)cc::keys::normalize_domain(value);
        }
    } else if (match.body_limit != cc::web::router::unmatched_body_limit) {
        broken("an unmatched request gets the unmatched body limit", target);
    }
    for (const char* name : {"domain", "limit", "before", "api_key", "X-CC-Api-Key"}) {
        if (const auto value = cc::web::query_param(query, name)) {
            if (value->size() > query.size()) broken("a decoded parameter is never longer than the query", name);
        }
    }
    for (const bool plus : {false, true}) {
        if (const auto decoded = cc::web::percent_decode(path, plus)) {
            if (decoded->size() > path.size()) broken("decoding never grows", path);
        }
    }
}


/// @brief One request as the oracle frames it.
struct framed {
    std::string method;
    std::size_t body_size = 0;
};

bool tchar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// @brief Takes one CRLF-terminated line off `in`; nullopt when there is none, or when the
/// line holds a bare CR or LF.
std::optional<std::string_view> take_line(std::string_view& in) {
    const auto crlf = in.find("\r\n");
    if (crlf == std::string_view::npos) return std::nullopt;
    const auto line = in.substr(0, crlf);
    if (line.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
    in.remove_prefix(crlf + 2);
    return line;
}

/// @brief A strict reading of RFC 9112 framing, written apart from the server's code: the
/// complete, validly framed requests at the start of `in`, up to `max`. Lenient on all that
/// does not decide where a request ends (it may accept requests the server refuses, never
/// the other way round for framing).
std::vector<framed> oracle_split(std::string_view in, std::size_t max) {
    std::vector<framed> out;
    while (out.size() < max) {
        while (in.starts_with("\r\n")) in.remove_prefix(2);
        auto line = take_line(in);
        if (!line) break;
        const auto sp1 = line->find(' ');
        const auto sp2 = line->rfind(' ');
        if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1) break;
        const auto method = line->substr(0, sp1);
        const auto version = line->substr(sp2 + 1);
        if (version.size() != 8 || !version.starts_with("HTTP/1.") || version[7] < '0' || version[7] > '9') break;
        const bool http11 = version != "HTTP/1.0";
        std::optional<unsigned long long> length;
        std::size_t lengths = 0, hosts = 0;
        std::vector<std::string_view> codings;
        bool has_te = false, ok = true;
        for (;;) {
            auto field = take_line(in);
            if (!field) { ok = false; break; }
            if (field->empty()) break;
            const auto colon = field->find(':');
            if (colon == std::string_view::npos || colon == 0 || field->front() == ' ' || field->front() == '\t') { ok = false; break; }
            const auto name = field->substr(0, colon);
            for (char c : name) ok = ok && tchar(c);
            if (!ok) break;
            const auto value = trim(field->substr(colon + 1));
            if (ieq(name, "host")) ++hosts;
            if (ieq(name, "content-length")) {
                ++lengths;
                // Equal values may repeat (as one list or several fields); anything else is not a length.
                std::string_view list = value;
                while (ok) {
                    const auto comma = list.find(',');
                    auto item = trim(list.substr(0, comma));
                    if (item.empty() || item.find_first_not_of("0123456789") != std::string_view::npos) {
                        ok = false;
                    } else {
                        while (item.size() > 1 && item.front() == '0') item.remove_prefix(1);
                        if (item.size() > 18) {
                            ok = false;
                        } else {
                            const auto v = std::stoull(std::string(item));
                            if (length && *length != v) ok = false;
                            length = v;
                        }
                    }
                    if (comma == std::string_view::npos) break;
                    list.remove_prefix(comma + 1);
                }
            }
            if (ieq(name, "transfer-encoding")) {
                has_te = true;
                std::string_view list = value;
                while (true) {
                    const auto comma = list.find(',');
                    const auto item = trim(list.substr(0, comma));
                    if (!item.empty()) codings.push_back(item);
                    if (comma == std::string_view::npos) break;
                    list.remove_prefix(comma + 1);
                }
            }
        }
        if (!ok) break;
        if (http11 ? hosts != 1 : hosts > 1) break;
        framed request{std::string(method), 0};
        if (has_te) {
            // Only "chunked", alone, frames a request body (RFC 9112 §6.1, §6.3).
            if (!http11 || lengths > 0 || codings.size() != 1 || !ieq(codings.front(), "chunked")) break;
            bool done = false;
            while (!done) {
                auto size_line = take_line(in);
                if (!size_line) { ok = false; break; }
                auto hex = trim(size_line->substr(0, size_line->find(';')));
                while (hex.size() > 1 && hex.front() == '0') hex.remove_prefix(1);
                if (hex.empty() || hex.size() > 15 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) { ok = false; break; }
                const auto size = std::stoull(std::string(hex), nullptr, 16);
                if (size == 0) {
                    for (;;) {  // the trailer section
                        auto trailer = take_line(in);
                        if (!trailer) { ok = false; break; }
                        if (trailer->empty()) break;
                    }
                    done = true;
                    break;
                }
                if (in.size() < size + 2 || in.substr(size, 2) != "\r\n") { ok = false; break; }
                request.body_size += size;
                in.remove_prefix(size + 2);
            }
            if (!ok) break;
        } else if (length) {
            const auto size = *length;
            if (in.size() < size) break;
            request.body_size = size;
            in.remove_prefix(size);
        }
        out.push_back(std::move(request));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // How the bytes arrive matters to an incremental parser: the first input byte picks the
    // size of the segments the "network" delivers, the rest is what the client sends.
    constexpr std::size_t segment_sizes[] = {1, 2, 3, 5, 16, 100, 1460, std::string_view::npos};
    // (corpus/fuzz_http_request/crash-chunked-final-chunk-split: Beast 1.74 asserts `n >= 5`
    // in parse_chunk_header when a body that is only the final chunk arrives as "0\r\n" and
    // then one byte; src/web/boost_assert.cpp lets that one wrong assert pass.)
    const std::size_t segment = segment_sizes[data[0] % (sizeof(segment_sizes) / sizeof(segment_sizes[0]))];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t offset = 0;  // what has "arrived" so far
    std::string buffer;      // arrived but not yet consumed by a parser (the connection's buffer)
    const auto arrive = [&]() {
        if (offset >= stream.size()) return false;  // the client closed
        const auto piece = stream.substr(offset, segment);
        buffer.append(piece);
        offset += piece.size();
        return true;
    };

    const auto expected = oracle_split(stream, 4);
    std::vector<framed> served;
    const auto check_served = [&]() {
        if (served.size() > expected.size()) broken("no more requests served than the input frames", stream.substr(0, 200));
        for (std::size_t i = 0; i < served.size(); ++i) {
            if (served[i].method != expected[i].method || served[i].body_size != expected[i].body_size) {
                broken("served requests are the input's requests, in order", served[i].method);
            }
        }
    };

    for (int request = 0; request < 4; ++request) {
        // The head, as connection.cpp's read_head reads it: skip leading empty lines, scan
        // for the end (refusing bare CR/LF), refuse obs-fold, then let Beast parse it.
        std::size_t scanned = 0;
        cc::web::head_scan scan;
        bool ended = false;
        for (;;) {
            while (scanned == 0 && buffer.starts_with("\r\n")) buffer.erase(0, 2);
            if (!(scanned == 0 && buffer == "\r")) {
                scan = cc::web::scan_head(buffer, scanned > 3 ? scanned - 3 : 0);
                if (scan.error || scan.end != std::string_view::npos) break;
                scanned = buffer.size();
                if (scanned > header_limit) { ended = true; break; }  // 431
            }
            if (!arrive()) { ended = true; break; }
        }
        if (ended || scan.error || cc::web::check_head_bytes(std::string_view(buffer).substr(0, scan.end))) break;

        // A fresh parser per request, limits set before anything is read (as the server does).
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(header_limit));
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        boost::beast::error_code ec;
        const auto used = parser.put(boost::asio::const_buffer(buffer.data(), scan.end), ec);
        buffer.erase(0, used);
        if (ec || !parser.is_header_done()) break;  // 400 and close
        auto& req = parser.get();
        const std::string method(req.method_string());
        if (cc::web::check_request_head(req)) break;  // 400/501 and close
        if (req.find(http::field::transfer_encoding) != req.end() && !parser.chunked()) broken("an accepted coding is chunked");
        const auto target = req.target();
        const auto [path, query] = cc::web::split_target(std::string_view(target.data(), target.size()));
        const auto match = service_routes().match(req.method(), path);
        check_target(req.method(), std::string_view(target.data(), target.size()));
        const auto host = req[http::field::host];
        const auto bare = cc::keys::host_without_port(std::string_view(host.data(), host.size()));
        if (bare.size() > host.size()) broken("the host without port is never longer", bare);
        (void)req.keep_alive();

        if (parser.content_length() && *parser.content_length() > match.body_limit) {
            break;  // 413 from the declared length, before any body byte; the server closes
        }
        if (!parser.is_done()) {
            parser.body_limit(match.body_limit);
            parser.eager(true);  // http::async_read parses eagerly, as the server's read does
            auto on_chunk_header = [](std::uint64_t, boost::beast::string_view ext, boost::beast::error_code& chunk_ec) {
                if (ext.size() > cc::web::max_chunk_header_bytes) chunk_ec = http::error::bad_chunk_extension;
            };
            parser.on_chunk_header(on_chunk_header);
            // As Beast's read operations do: put what is buffered, consume what was used, and
            // read more only when the parser asks for it.
            while (!parser.is_done()) {
                bool read_more = buffer.empty();
                if (!read_more) {
                    const auto n = parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
                    buffer.erase(0, n);
                    if (ec == http::error::need_more) {
                        ec = {};
                        read_more = true;
                    } else if (ec) {
                        break;
                    } else if (n == 0) {
                        read_more = true;
                    }
                }
                if (read_more) {
                    if (buffer.size() >= buffer_limit) { ec = http::error::buffer_overflow; break; }
                    if (!arrive()) {
                        ec = http::error::partial_message;
                        break;
                    }
                }
            }
            if (ec) break;  // 413, 400 or the client left: the server closes
        }
        if (req.body().size() > match.body_limit) broken("the body limit holds", std::to_string(req.body().size()));
        served.push_back({method, req.body().size()});
        if (!req.keep_alive()) break;
    }
    check_served();
    return 0;
}
