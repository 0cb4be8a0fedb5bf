#pragma once
#include <any>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json_fwd.hpp>

#include "cc/util/failure.hpp"

namespace cc::web {

namespace bhttp = boost::beast::http;

/// @brief A request whose body has been read whole (within the route's limit).
using request = bhttp::request<bhttp::string_body>;
/// @brief The one response type of the service.
using response = bhttp::response<bhttp::string_body>;

/// @brief Everything a handler gets besides the request: no socket, no stream.
struct request_context {
    request& req;
    std::string request_id;
    std::string client_ip;
    std::string route;  ///< the route's pattern, e.g. "/admin/keys/{id}" (for logs and metrics)
    std::vector<std::pair<std::string, std::string>> path_params;
    // Filled by handlers for the access log; never a secret.
    std::string log_domain;
    std::string log_key_prefix;
    std::string log_error;
    /// @brief What a route's header check hands to its handler (e.g. the identified key),
    /// so the handler does not repeat the work. Empty unless the route's check set it.
    std::any route_state;
    /// @brief Runs work on the connection's own thread, from any thread: a handler that
    /// finished elsewhere (the event writer) hands the rest of its work back here, so that
    /// thread is free sooner. Set while the route's handler runs.
    std::function<void(std::function<void()>)> run_here;

    /// @brief A path parameter by name (empty when absent).
    const std::string& param(const std::string& name) const;
};

/// @brief Delivers the response; called exactly once, from any thread.
using responder = std::function<void(response)>;

/// @brief A route's handler: takes a request, answers through the responder.
using handler = std::function<void(request_context&, responder)>;

/// @brief A route's check on the header block, before the body is read (the body of
/// `ctx.req` is still empty): nullopt to go on, or the response to answer at once
/// (the body is then never read, so an unauthenticated client cannot make us buffer it).
/// Runs on the connection's thread; must not block.
using header_check = std::function<std::optional<response>(request_context&)>;

/// @brief The HTTP status of one of the contract's error codes (from util::describe's table).
bhttp::status status_for(util::error_code code);

/// @brief Appends `res` as it goes on the wire (status line, fields as set, the body
/// when `with_body`): one buffer, so a response is one write.
void serialize(const response& res, bool with_body, std::string& out);

/// @brief A JSON response.
response json_response(bhttp::status status, const nlohmann::json& body, unsigned version = 11);

/// @brief A JSON response whose body is already JSON text (built with util::json_object_writer).
response json_text_response(bhttp::status status, std::string body, unsigned version = 11);

/// @brief Appends the SPEC's error object (code, details where given, message, and the
/// request id unless empty) as JSON text: the body of an error answer, and the `error`
/// of a rejected batch element.
void append_error_json(std::string& out, const util::failure& failure, std::string_view request_id = {});

/// @brief The one error builder: the SPEC's error shape, with the request id,
/// details where given, and Retry-After where the failure says when to retry.
response error_response(const request_context& ctx, const util::failure& failure);

/// @brief An error response without a routed request (parse errors, limits, timeouts).
response error_response(const std::string& request_id, unsigned version, const util::failure& failure);

}  // namespace cc::web
