#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cc/web/message.hpp"
#include "cc/util/percent_decode.hpp"

namespace cc::web {

/// @brief One route: a method, a path pattern with `{name}` segments, a body limit, and
/// optionally a check that runs on the header block before any of the body is read.
struct route {
    bhttp::verb method;
    std::string pattern;
    std::size_t body_limit;
    handler handle;
    header_check check;  ///< empty: none
};

/// @brief The result of matching a request line against the routes.
struct route_match {
    const route* found = nullptr;  ///< null when nothing matched
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;       ///< for 405: the methods the path does support
    std::string pattern;     ///< the matched pattern (or "unmatched")
    std::size_t body_limit;  ///< what may be read for this request
};

/// @brief Maps method and path to handlers; tells 404 from 405.
class router {
public:
    /// @brief Body limit applied to requests that match no route.
    static constexpr std::size_t unmatched_body_limit = 64 * 1024;

    /// @brief Adds a route. With `check`, the connection calls it once the header block is
    /// read and answers its response (if any) without reading the body.
    void add(bhttp::verb method, std::string pattern, std::size_t body_limit, handler h, header_check check = {});

    /// @brief Matches a path (without its query string). A trailing slash is the same
    /// path (`/__cc/inbound/` is `/__cc/inbound`); HEAD matches wherever GET does.
    route_match match(bhttp::verb method, std::string_view path) const;

    /// @brief The routes in the order they were added (metrics export each from start-up).
    const std::vector<route>& routes() const noexcept { return routes_; }

private:
    std::vector<route> routes_;
};

/// @brief Splits a request target into its path and query.
std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept;

/// @brief The value of `name` in a query string (percent-decoded), if present.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

/// @brief Percent-decodes a URL component; nullopt on a bad escape. `plus_is_space` for queries.
using util::percent_decode;

}  // namespace cc::web
