#pragma once
#include <array>
#include <chrono>
#include <type_traits>

#include "cc/net.hpp"

namespace cc::web {

/// @brief After a response that ends the connection: stop sending, then read and drop
/// what the client still sends for a moment, so our answer is not lost to a reset.
template <typename Stream>
net::awaitable<void> linger_close(Stream& stream) {
    beast::error_code ec;
    auto& tcp_layer = beast::get_lowest_layer(stream);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        tcp_layer.expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
        ec = {};
    }
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_layer.expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> sink;
    std::size_t drained = 0;
    while (!ec && drained < (64u << 20)) {
        drained += co_await tcp_layer.async_read_some(net::buffer(sink), net::redirect_error(net::use_awaitable, ec));
    }
    tcp_layer.socket().close(ec);
}

}  // namespace cc::web
