#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "cc/web/message.hpp"

namespace cc::web {

/// @brief CORS for a group of routes: which browser origins may call them, the headers
/// on their answers, and the answer to a preflight (OPTIONS). No origin is allowed unless
/// configured; a request without Origin (not from a browser) is never affected.
class cors_policy {
public:
    /// @param origins  the origins allowed, compared exactly (e.g. "https://app.example.com")
    /// @param refusal  the error a preflight from any other origin is answered with
    cors_policy(std::vector<std::string> origins, util::failure refusal);

    /// @brief True when `origin` is one of the configured origins.
    bool allows(std::string_view origin) const;

    /// @brief Adds the CORS headers for a request that sent `origin` ("" when it sent
    /// none): `Vary: Origin` whenever it sent one, and for an allowed origin
    /// Access-Control-Allow-Origin and the headers a page may read.
    void apply(std::string_view origin, response& res) const;

    /// @brief The answer to a preflight for a path that takes `methods` ("GET, PUT"):
    /// 204 with Allow, plus the Access-Control-Allow-* headers when an Origin was sent;
    /// the refusal (with `Vary: Origin`) for an origin that is not allowed.
    response preflight(const request_context& ctx, const std::string& methods) const;

private:
    std::vector<std::string> origins_;
    util::failure refusal_;
};

}  // namespace cc::web
