#include "cc/http/connection.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include <boost/beast/ssl.hpp>

#include "cc/http/request_id.hpp"
#include "cc/ops/logger.hpp"
#include "cc/ops/metrics.hpp"

namespace cc::web {
namespace {

using namespace std::chrono;
using net::redirect_error;
using net::use_awaitable;

/// @brief Network errors that only mean the peer went away or we closed: not worth a log line.
bool routine_error(const beast::error_code& ec) {
    return ec == net::error::operation_aborted || ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::bad_descriptor ||
           ec == net::error::broken_pipe;
}

/// @brief Awaits a handler's responder, resuming on the connection's strand.
template <typename Token>
auto async_handle(const handler& h, request_context& ctx, Token&& token) {
    return net::async_initiate<Token, void(response)>(
        [&h, &ctx](auto completion) {
            using completion_t = decltype(completion);
            auto shared = std::make_shared<completion_t>(std::move(completion));
            auto executor = net::get_associated_executor(*shared);
            h(ctx, [shared, executor](response res) {
                net::post(executor, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
            });
        },
        token);
}

/// @brief The client's address: the peer, or what a trusted proxy says it forwarded for.
std::string client_address(const std::string& peer, const request& req, const std::vector<std::string>& trusted) {
    if (trusted.empty() || std::find(trusted.begin(), trusted.end(), peer) == trusted.end()) return peer;
    const auto header = req["X-Forwarded-For"];
    if (header.empty()) return peer;
    // The right-most address not itself a trusted proxy is the one a proxy of ours saw.
    std::string_view list(header.data(), header.size());
    while (!list.empty()) {
        const auto comma = list.rfind(',');
        auto item = comma == std::string_view::npos ? list : list.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty() && std::find(trusted.begin(), trusted.end(), item) == trusted.end()) return std::string(item);
        if (comma == std::string_view::npos) break;
        list = list.substr(0, comma);
    }
    return peer;
}

/// @brief The size of a request's header block as sent (start line and fields).
std::size_t header_bytes(const http::request_parser<http::string_body>::value_type& req) {
    std::size_t n = req.method_string().size() + req.target().size() + 12;
    for (const auto& field : req) n += field.name_string().size() + field.value().size() + 4;
    return n;
}

void log_access(const request_context& ctx, const response& res, std::string_view method, double seconds) {
    auto& m = ops::global_metrics();
    const auto status = std::to_string(res.result_int());
    // Label values stay bounded: a method the client made up is counted as "other".
    const bool known_method = http::string_to_verb(beast::string_view(method.data(), method.size())) != http::verb::unknown;
    m.http_requests.inc({ctx.route, known_method ? std::string(method) : std::string("other"), status});
    m.http_duration.observe({ctx.route}, seconds);
    const auto level = res.result_int() >= 500 ? spdlog::level::warn : spdlog::level::info;
    if (!ops::should_log(level)) return;
    nlohmann::json fields = {{"request_id", ctx.request_id},
                             {"method", method},
                             {"route", ctx.route},
                             {"status", res.result_int()},
                             {"latency_ms", seconds * 1000.0},
                             {"client_ip", ctx.client_ip}};
    if (!ctx.log_domain.empty()) fields["domain"] = ctx.log_domain;
    if (!ctx.log_key_prefix.empty()) fields["key_prefix"] = ctx.log_key_prefix;
    if (!ctx.log_error.empty()) fields["error"] = ctx.log_error;
    ops::log(level, "request", fields);
}

/// @brief After a response that ends the connection: stop sending, then read and drop
/// what the client still sends for a moment, so our answer is not lost to a reset.
template <typename Stream>
net::awaitable<void> linger_close(Stream& stream) {
    beast::error_code ec;
    auto& tcp_layer = beast::get_lowest_layer(stream);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        tcp_layer.expires_after(seconds(2));
        co_await stream.async_shutdown(redirect_error(use_awaitable, ec));
        ec = {};
    }
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_layer.expires_after(seconds(2));
    std::array<char, 16 * 1024> sink;
    std::size_t drained = 0;
    while (!ec && drained < (64u << 20)) {
        drained += co_await tcp_layer.async_read_some(net::buffer(sink), redirect_error(use_awaitable, ec));
    }
    tcp_layer.socket().close(ec);
}


/// @brief The request loop over a plain or TLS stream.
template <typename Stream>
net::awaitable<void> serve_requests(Stream& stream, const std::string& peer, const connection_env& env,
                                    connection_slot& slot) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    beast::error_code ec;
    beast::flat_buffer buffer;
    // A new connection gets the header timeout once, from its start (TLS handshake
    // included) to the end of its first request's header: a late first byte does not
    // buy a slow client a second period.
    auto first_deadline = std::optional<steady_clock::time_point>(steady_clock::now() + milliseconds(env.options.header_timeout_ms));
    bool close_after = false;

    while (!close_after) {
        // Wait for the next request's first bytes: the idle (keep-alive) timeout applies.
        if (buffer.size() == 0) {
            slot.idle = true;
            // Draining ends idle connections, but not one whose next request is already here.
            if (env.draining && tcp_layer.socket().available(ec) == 0) break;
            if (first_deadline) {
                tcp_layer.expires_at(*first_deadline);
            } else {
                tcp_layer.expires_after(milliseconds(env.options.idle_timeout_ms));
            }
            const auto n = co_await stream.async_read_some(buffer.prepare(4096), redirect_error(use_awaitable, ec));
            if (ec == net::error::operation_aborted && tcp_layer.socket().is_open()) {
                // Cancelled by a drain or to make room: if a request arrived meanwhile, serve it.
                beast::error_code ignored;
                if (tcp_layer.socket().available(ignored) > 0) {
                    ec = {};
                    continue;
                }
            }
            if (ec) break;
            buffer.commit(n);
        }
        slot.idle = false;

        // A fresh parser per request, limits set before anything is read.
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(env.options.max_header_bytes));
        // The body limit depends on the route, known only once the header is read.
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        if (first_deadline) {
            tcp_layer.expires_at(*first_deadline);
            first_deadline.reset();
        } else {
            tcp_layer.expires_after(milliseconds(env.options.header_timeout_ms));
        }
        co_await http::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, ec));
        const auto started = steady_clock::now();
        std::string request_id;
        if (!ec && header_bytes(parser.get()) > static_cast<std::size_t>(env.options.max_header_bytes)) {
            ec = http::error::header_limit;
        }
        if (ec) {
            if (ec == http::error::header_limit) {
                request_id = new_request_id();
                auto res = error_response(request_id, 11,
                                          {"request_header_fields_too_large", "The request headers are too large.", {}});
                res.set("X-Request-Id", request_id);
                res.keep_alive(false);
                tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
                co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
                co_await linger_close(stream);
            } else if (!routine_error(ec) && ec != http::error::partial_message) {
                request_id = new_request_id();
                auto res = error_response(request_id, 11, {"bad_request", "The request is not valid HTTP/1.1.", {}});
                res.set("X-Request-Id", request_id);
                res.keep_alive(false);
                tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
                co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
                co_await linger_close(stream);
            }
            break;
        }

        auto& header = parser.get();
        const auto incoming_id = header["X-Request-Id"];
        request_id = is_valid_request_id(std::string_view(incoming_id.data(), incoming_id.size()))
                         ? std::string(incoming_id)
                         : new_request_id();
        const auto [path, query] = split_target(std::string_view(header.target().data(), header.target().size()));
        auto match = env.routes.match(header.method(), path);

        // Refuse an oversized body from its declared length, before reading any of it.
        std::optional<util::failure> early;
        if (parser.content_length() && *parser.content_length() > match.body_limit) {
            early = util::failure{"payload_too_large",
                                  "The body exceeds this endpoint's limit of " + std::to_string(match.body_limit) + " bytes.",
                                  {}};
        }
        if (!early && !parser.is_done()) {
            if (beast::iequals(header[http::field::expect], "100-continue")) {
                http::response<http::empty_body> go_on{http::status::continue_, header.version()};
                tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
                co_await http::async_write(stream, go_on, redirect_error(use_awaitable, ec));
                if (ec) break;
            }
            parser.body_limit(match.body_limit);
            tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
            co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
            if (ec == http::error::body_limit) {
                early = util::failure{"payload_too_large", "The body exceeds this endpoint's limit.", {}};
            } else if (ec) {
                break;  // timeout or the client went away: nothing to answer
            }
        }

        request req = parser.release();
        request_context ctx{req, request_id, client_address(peer, req, env.options.trusted_proxies), match.pattern,
                            std::move(match.params), {}, {}, {}};
        response res;
        if (early) {
            res = error_response(ctx, *early);
            close_after = true;
        } else if (!match.found) {
            if (match.allow.empty()) {
                res = error_response(ctx, {"not_found", "No route matches " + std::string(path) + ".", {}});
            } else {
                res = error_response(ctx, {"method_not_allowed",
                                           "Method " + std::string(req.method_string()) + " is not allowed here.", {}});
                res.set(http::field::allow, match.allow);
            }
        } else {
            res = co_await async_handle(match.found->handle, ctx, use_awaitable);
        }

        res.version(req.version());
        res.set("X-Request-Id", request_id);
        close_after = close_after || !req.keep_alive() || env.draining;
        res.keep_alive(!close_after);
        res.prepare_payload();
        tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
        co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
        log_access(ctx, res, std::string_view(req.method_string().data(), req.method_string().size()), duration<double>(steady_clock::now() - started).count());
        if (ec) break;
        if (close_after) {
            co_await linger_close(stream);
        }
    }

}

}  // namespace

net::awaitable<void> serve_connection(tcp::socket socket, connection_env env, std::shared_ptr<connection_slot> slot,
                                      std::shared_ptr<ssl::context> tls) {
    auto& metrics = ops::global_metrics();
    ++metrics.open_connections;
    beast::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string("unknown") : endpoint.address().to_string();
    if (tls) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
        slot->stream = &beast::get_lowest_layer(stream);
        // The handshake counts against the header timeout: a slow one is a slow client.
        beast::get_lowest_layer(stream).expires_after(milliseconds(env.options.header_timeout_ms));
        co_await stream.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
        if (!ec) co_await serve_requests(stream, peer, env, *slot);
        slot->stream = nullptr;
        beast::get_lowest_layer(stream).socket().close(ec);
    } else {
        beast::tcp_stream stream(std::move(socket));
        slot->stream = &stream;
        co_await serve_requests(stream, peer, env, *slot);
        slot->stream = nullptr;
        stream.socket().close(ec);
    }
    slot->idle = false;
    --metrics.open_connections;
}

}  // namespace cc::web
