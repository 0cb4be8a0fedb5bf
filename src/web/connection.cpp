#include "cc/web/connection.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include <boost/beast/ssl.hpp>

#include "cc/web/access_log.hpp"
#include "cc/web/client_address.hpp"
#include "cc/web/framing.hpp"
#include "cc/web/linger_close.hpp"
#include "cc/web/request_id.hpp"
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

/// @brief Awaits a handler's responder, resuming on the connection's thread.
template <typename Token>
auto async_handle(const handler& h, request_context& ctx, Token&& token) {
    return net::async_initiate<Token, void(response)>(
        [&h, &ctx](auto completion) {
            using completion_t = decltype(completion);
            struct state {
                completion_t completion;
                bool initiating = true;
            };
            auto shared = std::make_shared<state>(state{std::move(completion)});
            auto executor = net::get_associated_executor(shared->completion);
            ctx.run_here = [executor](std::function<void()> work) { net::post(executor, std::move(work)); };
            h(ctx, [shared, executor](response res) {
                // Already on the connection's thread (and not inside this initiation): resume
                // the request at once instead of queueing it behind other work. `initiating`
                // is read only on that thread, the one that writes it.
                const auto* own = executor.template target<net::io_context::executor_type>();
                if (own && own->running_in_this_thread() && !shared->initiating) return shared->completion(std::move(res));
                net::post(executor, [shared, res = std::move(res)]() mutable { shared->completion(std::move(res)); });
            });
            shared->initiating = false;
        },
        token);
}

/// @brief The size of a request's header block as sent (start line and fields).
std::size_t header_bytes(const http::request_parser<http::string_body>::value_type& req) {
    std::size_t n = req.method_string().size() + req.target().size() + 12;
    for (const auto& field : req) n += field.name_string().size() + field.value().size() + 4;
    return n;
}

/// @brief What one connection may buffer besides a request's body: its header block, one
/// chunk-size line, and what a client pipelines meanwhile. A fixed bound, so no client can
/// make us hold more than its route's body limit plus this.
std::size_t buffer_limit(const server_options& options) {
    return static_cast<std::size_t>(options.max_header_bytes) + 2 * max_chunk_header_bytes;
}

/// @brief Room for one read into a bounded buffer.
std::size_t read_room(const beast::flat_buffer& buffer) {
    return std::min<std::size_t>(4096, buffer.max_size() - buffer.size());
}

/// @brief Declared-body bytes we read and drop after answering early, to keep the
/// connection; a larger body ends the connection instead of being read.
constexpr std::size_t max_discard_bytes = 64 * 1024;

/// @brief A 413 that states the route's limit, whether the length was declared or the
/// chunked body ran over it.
util::failure too_large(std::size_t limit) {
    return {util::error_code::payload_too_large, "The body exceeds this endpoint's limit of " + std::to_string(limit) + " bytes.", {}};
}

/// @brief A request refused from its head: why, and how to answer.
struct refusal {
    util::failure failure;
    std::string request_id;
    unsigned version = 11;
};

/// @brief Answers a request that cannot be served and ends the connection (framing
/// errors, oversized heads): the answer first, then a lingering close.
/// (Arguments of co_awaited calls are named objects throughout this file: GCC 12
/// mishandles some temporaries that live across a suspension.)
template <typename Stream>
net::awaitable<void> refuse(Stream& stream, const connection_env& env, const refusal& refused) {
    beast::error_code ec;
    const auto& failure = refused.failure;
    const auto& request_id = refused.request_id;
    auto res = error_response(request_id, refused.version, failure);
    res.set("X-Request-Id", request_id);
    res.keep_alive(false);
    std::string wire;
    serialize(res, true, wire);
    beast::get_lowest_layer(stream).expires_after(milliseconds(env.options.body_timeout_ms));
    const auto bytes = net::buffer(wire);
    co_await net::async_write(stream, bytes, redirect_error(use_awaitable, ec));
    if (ops::should_log(spdlog::level::info)) {
        ops::log(spdlog::level::info, "request refused",
                 {{"request_id", request_id}, {"status", res.result_int()}, {"error", util::to_text(failure.code)}});
    }
    co_await linger_close(stream);
}

/// @brief Reads and drops `remaining` body bytes (buffered ones first); false when the
/// client does not send them in time.
template <typename Stream>
net::awaitable<bool> discard_body(Stream& stream, beast::flat_buffer& buffer, std::size_t remaining,
                                  const connection_env& env) {
    beast::error_code ec;
    const auto buffered = std::min(remaining, buffer.size());
    buffer.consume(buffered);
    remaining -= buffered;
    beast::get_lowest_layer(stream).expires_after(milliseconds(env.options.body_timeout_ms));
    std::array<char, 4096> sink;
    while (remaining > 0) {
        const auto n = co_await stream.async_read_some(net::buffer(sink.data(), std::min(remaining, sink.size())),
                                                       redirect_error(use_awaitable, ec));
        if (ec) co_return false;
        remaining -= n;
    }
    co_return true;
}

/// @brief Where a request's head went: on to the body and the handler, refused (answer
/// the refusal, then close), or gone (the client left or timed out: nothing to answer).
enum class head_result { ok, refused, gone };

/// @brief Reads one request's header block into `buffer` and parses it with `parser`:
/// leading empty lines are skipped (RFC 9112 §2.2), the raw block is checked for what
/// Beast accepts but must not (obs-fold, bare CR/LF), and the parsed head for the framing
/// rules (check_request_head). A refusal is described in `refused` for the caller to answer.
template <typename Stream>
net::awaitable<head_result> read_head(Stream& stream, beast::flat_buffer& buffer,
                                      http::request_parser<http::string_body>& parser, const connection_env& env,
                                      refusal& refused) {
    beast::error_code ec;
    const auto max_header = static_cast<std::size_t>(env.options.max_header_bytes);
    auto view = [&buffer] {
        return std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size());
    };
    const auto refuse_with = [&refused](util::error_code code, std::string message, unsigned version) {
        refused.failure = util::failure{std::move(code), std::move(message), {}};
        if (refused.request_id.empty()) refused.request_id = new_request_id();
        refused.version = version;
        return head_result::refused;
    };
    std::size_t scanned = 0;
    head_scan scan;
    for (;;) {
        // RFC 9112 §2.2: ignore empty lines before the request line.
        while (scanned == 0 && view().starts_with("\r\n")) buffer.consume(2);
        if (!(scanned == 0 && view() == "\r")) {  // half of an empty line: wait for the rest
            scan = scan_head(view(), scanned > 3 ? scanned - 3 : 0);
            if (scan.error || scan.end != std::string_view::npos) break;
            scanned = buffer.size();
        }
        if (scanned > max_header) {
            co_return refuse_with(util::error_code::request_header_fields_too_large, "The request headers are too large.", 11);
        }
        const auto room = read_room(buffer);
        const auto n = co_await stream.async_read_some(buffer.prepare(room), redirect_error(use_awaitable, ec));
        if (ec) co_return head_result::gone;  // timeout or the client went away mid-head: nothing to answer
        buffer.commit(n);
    }
    if (!scan.error) scan.error = check_head_bytes(view().substr(0, scan.end));
    if (scan.error) co_return refuse_with(scan.error->code, scan.error->message, 11);
    const auto used = parser.put(net::buffer(buffer.data().data(), scan.end), ec);
    buffer.consume(used);
    if (!ec && !parser.is_header_done()) ec = http::error::partial_message;
    if (!ec && header_bytes(parser.get()) > max_header) ec = http::error::header_limit;
    if (ec == http::error::header_limit) {
        co_return refuse_with(util::error_code::request_header_fields_too_large, "The request headers are too large.", 11);
    }
    const unsigned version = parser.get().version() == 10 ? 10 : 11;
    if (ec) {
        // Two different Content-Lengths, an overflowing one, a bad field name...: Beast's
        // own refusals, answered like ours (RFC 9112 §6.3: 400, then close).
        co_return refuse_with(util::error_code::bad_request, "The request is not valid HTTP/1.1 (" + ec.message() + ").", version);
    }
    auto e = check_request_head(parser.get());
    if (!e && parser.get().count(http::field::transfer_encoding) > 0 && !parser.chunked()) {
        e = framing_error{util::error_code::bad_request, "The Transfer-Encoding header is not valid."};  // never guess a body's end
    }
    if (e) {
        const auto incoming = parser.get()["X-Request-Id"];
        if (is_valid_request_id(std::string_view(incoming.data(), incoming.size()))) refused.request_id = std::string(incoming);
        co_return refuse_with(e->code, e->message, version);
    }
    co_return head_result::ok;
}

/// @brief True for the statuses that never have content (RFC 9110 §6.4.1): 1xx, 204 and 304.
bool has_no_content(const response& res) {
    const auto code = res.result_int();
    return code < 200 || code == 204 || code == 304;
}

/// @brief Writes a response with the connection's common headers, as one buffer; HEAD
/// gets the headers GET would, without the body. A 204 or 304 carries no Content-Length
/// (RFC 9110 §8.6: a 304's would have to be the selected representation's length).
template <typename Stream>
net::awaitable<void> send(Stream& stream, const connection_env& env, const request& req, response& res,
                          const std::string& request_id, bool keep_alive, beast::error_code& ec) {
    res.version(req.version());
    res.set("X-Request-Id", request_id);
    res.keep_alive(keep_alive);
    if (has_no_content(res)) {
        res.body().clear();
        res.erase(http::field::content_length);
    } else {
        res.content_length(res.body().size());
    }
    std::string wire;
    serialize(res, req.method() != http::verb::head, wire);
    beast::get_lowest_layer(stream).expires_after(milliseconds(env.options.body_timeout_ms));
    const auto bytes = net::buffer(wire);
    co_await net::async_write(stream, bytes, redirect_error(use_awaitable, ec));
}

/// @brief Body-read errors that mean the client left or was too slow: nothing to answer.
bool client_gone(const beast::error_code& ec) {
    return routine_error(ec) || ec == http::error::partial_message;
}

/// @brief The request loop over a plain or TLS stream.
template <typename Stream>
net::awaitable<void> serve_requests(Stream& stream, const std::string& peer, const connection_env& env,
                                    connection_slot& slot, steady_clock::time_point header_deadline) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    beast::error_code ec;
    beast::flat_buffer buffer(buffer_limit(env.options));
    // A new connection gets the header timeout once, from its start (TLS handshake
    // included) to the end of its first request's header: a late first byte does not
    // buy a slow client a second period.
    auto first_deadline = std::optional<steady_clock::time_point>(header_deadline);
    bool close_after = false;

    while (!close_after) {
        // Wait for the next request's first bytes: the idle (keep-alive) timeout applies.
        if (buffer.size() == 0) {
            slot.idle = true;
            // Draining ends idle connections, but not one whose next request is already here.
            if (env.draining && tcp_layer.socket().available(ec) == 0) break;
            if (slot.evicted) break;  // chosen to make room for a newer connection
            if (first_deadline) {
                tcp_layer.expires_at(*first_deadline);
            } else {
                tcp_layer.expires_after(milliseconds(env.options.idle_timeout_ms));
            }
            const auto n = co_await stream.async_read_some(buffer.prepare(read_room(buffer)), redirect_error(use_awaitable, ec));
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
        refusal refused_head;
        const auto head = co_await read_head(stream, buffer, parser, env, refused_head);
        if (head == head_result::refused) co_await refuse(stream, env, refused_head);
        if (head != head_result::ok) break;
        const auto started = steady_clock::now();

        // The request stays in the parser, which reads the body into it.
        auto& req = parser.get();
        const auto incoming_id = req["X-Request-Id"];
        std::string request_id = is_valid_request_id(std::string_view(incoming_id.data(), incoming_id.size()))
                                     ? std::string(incoming_id)
                                     : new_request_id();
        const auto [path, query] = split_target(std::string_view(req.target().data(), req.target().size()));
        auto match = env.routes.match(req.method(), path);
        request_context ctx{req, std::move(request_id), client_address(peer, req, env.options.trusted_proxies), match.pattern,
                            std::move(match.params), {}, {}, {}, {}, {}};

        // Decide what can be decided from the head before reading any of the body: a
        // declared length over the limit, then the route's own check (the inbound key).
        std::optional<response> early;
        bool too_big = false;
        if (parser.content_length() && *parser.content_length() > match.body_limit) {
            early = error_response(ctx, too_large(match.body_limit));
            too_big = true;
        }
        if (!early && match.found && match.found->check) early = match.found->check(ctx);
        if (early) {
            // Answered without reading the body. After a check's answer, a small declared body
            // is read and dropped to keep the connection; a 413 or anything larger ends it.
            const auto remaining = parser.is_done() ? 0 : parser.content_length_remaining().value_or(max_discard_bytes + 1);
            const bool waits_for_continue = beast::iequals(req[http::field::expect], "100-continue");
            const bool keep = !too_big && req.keep_alive() && !env.draining && !slot.evicted &&
                              remaining <= max_discard_bytes && (remaining == 0 || !waits_for_continue);
            co_await send(stream, env, req, *early, ctx.request_id, keep, ec);
            log_access(ctx, *early, std::string_view(req.method_string().data(), req.method_string().size()),
                       duration<double>(steady_clock::now() - started).count());
            if (ec) break;
            if (!keep) {
                co_await linger_close(stream);
                break;
            }
            if (remaining > 0) {
                const bool discarded = co_await discard_body(stream, buffer, remaining, env);
                if (!discarded) break;
            }
            continue;
        }

        std::optional<util::failure> refused;
        if (!parser.is_done()) {
            if (beast::iequals(req[http::field::expect], "100-continue")) {
                http::response<http::empty_body> go_on{http::status::continue_, req.version()};
                tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
                co_await http::async_write(stream, go_on, redirect_error(use_awaitable, ec));
                if (ec) break;
            }
            parser.body_limit(match.body_limit);
            // Trailer fields never become request fields (RFC 9110 §6.5.1): remember how many
            // fields the head had and drop what the trailer adds.
            const bool chunked = parser.chunked();
            const auto head_fields = chunked ? static_cast<std::size_t>(std::distance(req.begin(), req.end())) : 0;
            bool chunk_line_too_long = false;
            auto on_chunk_header = [&chunk_line_too_long](std::uint64_t, beast::string_view extensions, beast::error_code& chunk_ec) {
                // Beast buffers the whole chunk-size line; bound it (the buffer's own limit is the backstop).
                if (extensions.size() > max_chunk_header_bytes) {
                    chunk_line_too_long = true;
                    chunk_ec = http::error::bad_chunk_extension;
                }
            };
            parser.on_chunk_header(on_chunk_header);
            tcp_layer.expires_after(milliseconds(env.options.body_timeout_ms));
            co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
            if (ec == http::error::body_limit) {
                refused = too_large(match.body_limit);
            } else if (chunk_line_too_long || ec == http::error::buffer_overflow) {
                refused = util::failure{util::error_code::bad_request,
                                        "A chunk-size line and its extensions are limited to " +
                                            std::to_string(max_chunk_header_bytes) + " bytes.",
                                        {}};
            } else if (ec && client_gone(ec)) {
                break;  // timeout or the client went away: nothing to answer
            } else if (ec) {
                refused = util::failure{util::error_code::bad_request, "The request body is not validly framed (" + ec.message() + ").", {}};
            } else if (chunked) {
                auto it = req.begin();
                std::advance(it, static_cast<std::ptrdiff_t>(head_fields));
                while (it != req.end()) it = req.erase(it);
            }
        }

        response res;
        if (refused) {
            res = error_response(ctx, *refused);
            close_after = true;
        } else if (!match.found) {
            if (match.allow.empty()) {
                res = error_response(ctx, {util::error_code::not_found, "No route matches " + std::string(path) + ".", {}});
            } else {
                res = error_response(ctx, {util::error_code::method_not_allowed,
                                           "Method " + std::string(req.method_string()) + " is not allowed here.", {}});
                res.set(http::field::allow, match.allow);
            }
        } else {
            res = co_await async_handle(match.found->handle, ctx, use_awaitable);
        }

        close_after = close_after || !req.keep_alive() || env.draining || slot.evicted;
        co_await send(stream, env, req, res, ctx.request_id, !close_after, ec);
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
    // One header timeout from the connection's start: handshake and first request's header share it.
    const auto header_deadline = steady_clock::now() + milliseconds(env.options.header_timeout_ms);
    if (tls) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
        slot->stream = &beast::get_lowest_layer(stream);
        // The handshake counts against the header timeout: a slow one is a slow client.
        beast::get_lowest_layer(stream).expires_at(header_deadline);
        co_await stream.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
        if (!ec) co_await serve_requests(stream, peer, env, *slot, header_deadline);
        slot->stream = nullptr;
        beast::get_lowest_layer(stream).socket().close(ec);
    } else {
        beast::tcp_stream stream(std::move(socket));
        slot->stream = &stream;
        co_await serve_requests(stream, peer, env, *slot, header_deadline);
        slot->stream = nullptr;
        stream.socket().close(ec);
    }
    slot->idle = false;
    --metrics.open_connections;
}

}  // namespace cc::web
