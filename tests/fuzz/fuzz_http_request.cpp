// Fuzzes the front of the server: raw bytes through Beast's request parser with the
// server's limits (16 KiB of header, 1 MiB of body), up to a few pipelined requests per
// input, then what connection.cpp does with each head: split the target, match the
// router (holding the service's real route patterns), read query parameters, and take
// the Host apart as the inbound domain check does.
//
// Input: the first byte picks how the bytes arrive (segments of 1, 2, 3, 5, 16, 100, 1460
// bytes, or all at once); the rest is what a client sends on one connection.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <utility>  // before any Asio header (Boost 1.74 with C++20)

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "cc/http/router.hpp"
#include "cc/keys/domain_name.hpp"

namespace {

namespace http = boost::beast::http;
using cc::web::bhttp::verb;

constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t body_limit = 1024 * 1024;

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
        if (match.found->method != method) broken("a match has the request's method", target);
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // How the bytes arrive matters to an incremental parser: the first input byte picks the
    // size of the segments the "network" delivers, the rest is what the client sends.
    constexpr std::size_t segment_sizes[] = {1, 2, 3, 5, 16, 100, 1460, std::string_view::npos};
    // (corpus/fuzz_http_request/crash-chunked-final-chunk-split: Beast 1.74 asserts `n >= 5`
    // in parse_chunk_header when a body that is only the final chunk arrives as "0\r\n" and
    // then one byte; src/http/boost_assert.cpp lets that one wrong assert pass.)
    const std::size_t segment = segment_sizes[data[0] % (sizeof(segment_sizes) / sizeof(segment_sizes[0]))];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t offset = 0;  // what has "arrived" so far
    std::string buffer;      // arrived but not yet consumed by a parser (the connection's buffer)

    for (int request = 0; request < 4; ++request) {
        // A fresh parser per request, limits set before anything is read (as the server does).
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(header_limit));
        parser.body_limit(body_limit);
        parser.eager(true);  // http::read / async_read parse eagerly, as the server's reads do
        boost::beast::error_code ec;
        // As Beast's read operations do: put what is buffered, consume what was used, and
        // read more only when the parser asks for it.
        while (!parser.is_done()) {
            bool read_more = buffer.empty();
            if (!read_more) {
                const auto used = parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
                buffer.erase(0, used);
                if (ec == http::error::need_more) {
                    ec = {};
                    read_more = true;
                } else if (ec) {
                    break;
                } else if (used == 0) {
                    read_more = true;
                }
            }
            if (read_more) {
                if (offset >= stream.size()) {
                    // The client closed: a close-delimited end, or a partial message.
                    if (parser.is_header_done()) parser.put_eof(ec);
                    break;
                }
                const auto piece = stream.substr(offset, segment);
                buffer.append(piece);
                offset += piece.size();
            }
        }
        if (!parser.is_header_done()) return 0;  // incomplete or refused head: nothing is routed
        const auto& req = parser.get();
        if (req.body().size() > body_limit) broken("the body limit holds", std::to_string(req.body().size()));
        const auto target = req.target();
        check_target(req.method(), std::string_view(target.data(), target.size()));
        const auto host = req[http::field::host];
        const auto bare = cc::keys::host_without_port(std::string_view(host.data(), host.size()));
        if (bare.size() > host.size()) broken("the host without port is never longer", bare);
        (void)req.keep_alive();
        (void)req.version();
        if (ec || !parser.is_done()) return 0;  // no next request after an error: the server closes
    }
    return 0;
}
