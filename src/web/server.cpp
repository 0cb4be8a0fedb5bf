#include "cc/web/server.hpp"

#include <malloc.h>

#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "cc/web/connection.hpp"
#include "cc/ops/logger.hpp"

namespace cc::web {

using namespace std::chrono;

struct server::impl : std::enable_shared_from_this<server::impl> {
    explicit impl(server_options o)
        : options(std::move(o)), contexts(make_contexts(options.threads)), ioc(*contexts.front()) {
        for (auto& context : contexts) work.emplace_back(context->get_executor());
    }

    /// @brief One single-threaded io_context per thread: a connection needs no strand,
    /// and threads do not wake each other through one shared queue.
    static std::vector<std::unique_ptr<net::io_context>> make_contexts(int threads) {
        std::vector<std::unique_ptr<net::io_context>> out;
        for (int i = 0; i < std::max(1, threads); ++i) out.push_back(std::make_unique<net::io_context>(1));
        return out;
    }

    server_options options;
    /// @brief Each connection lives on one of these for its whole life (handed out in
    /// turn at accept); the first also runs the acceptors and the drain.
    std::vector<std::unique_ptr<net::io_context>> contexts;
    net::io_context& ioc;
    std::atomic<std::size_t> next_context{0};
    std::atomic<bool> draining{false};
    std::atomic<int> accept_loops{0};  ///< accept_loop coroutines not yet ended
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    mutable std::mutex slots_mutex;
    std::list<std::shared_ptr<connection_slot>> slots;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
    std::atomic<std::shared_ptr<ssl::context>> tls;

    /// @brief A server TLS context: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers.
    std::shared_ptr<ssl::context> load_tls() const {
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
        // No stateless session tickets: a TLS 1.2 ticket is sealed with a key that lives as
        // long as the process, which would undo forward secrecy for resumed sessions.
        // Resumption uses the server's session cache instead (TLS 1.3: stateful tickets).
        SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_TICKET);
        SSL_CTX_set_cipher_list(ctx->native_handle(),
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
        beast::error_code ec;
        ctx->use_certificate_chain_file(options.tls_cert_file, ec);
        if (ec) throw std::runtime_error("cannot load TLS certificate " + options.tls_cert_file + ": " + ec.message());
        ctx->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
        if (ec) throw std::runtime_error("cannot load TLS key " + options.tls_key_file + ": " + ec.message());
        return ctx;
    }

    /// @brief Ends an idle connection on its own thread by cancelling its wait for the
    /// next request. Cancelling, not closing: if that request's bytes were already read,
    /// the read has completed, the cancel does nothing, and the request is answered.
    static void end_if_idle(const std::shared_ptr<connection_slot>& slot) {
        net::post(slot->executor, [slot] {
            if (!slot->stream || !slot->idle) return;
            beast::error_code ec;
            if (slot->stream->socket().available(ec) > 0 && !ec) return;  // a request is waiting
            slot->stream->cancel();
        });
    }

    /// @brief Closes a connection outright (after the grace period).
    static void force_close(const std::shared_ptr<connection_slot>& slot) {
        net::post(slot->executor, [slot] {
            beast::error_code ec;
            if (slot->stream) slot->stream->socket().close(ec);
        });
    }

    /// @brief True while fewer sockets are open than the cap. Every open connection counts,
    /// including one chosen to make room that is still finishing a request: the cap is on
    /// sockets, not on slots.
    bool has_room() const {
        std::lock_guard lock(slots_mutex);
        return slots.size() < static_cast<std::size_t>(options.max_connections);
    }

    /// @brief At the cap, picks the longest-idle connection to end (it closes now, or after
    /// the request that reached it meanwhile); false if none is idle.
    bool evict_one() {
        std::lock_guard lock(slots_mutex);
        for (auto& slot : slots) {  // oldest first
            if (slot->idle && !slot->evicted) {
                slot->evicted = true;
                end_if_idle(slot);
                return true;
            }
        }
        return false;
    }

    /// @brief Makes room for one more connection: ends an idle one and waits briefly for
    /// its socket to close. False when every connection is busy or none closed in time.
    net::awaitable<bool> make_room() {
        if (has_room()) co_return true;
        if (!evict_one()) co_return false;
        net::steady_timer pause(ioc);
        for (int i = 0; i < 50 && !has_room(); ++i) {
            pause.expires_after(milliseconds(2));
            beast::error_code ec;
            co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
        co_return has_room();
    }

    net::awaitable<void> accept_loop(tcp::acceptor& acceptor, const router& routes) {
        auto self = shared_from_this();
        // Counted until this frame is gone: the drain stops the io_context only after every
        // accept loop has ended, so no suspended loop (holding `self`) outlives the server.
        struct running {
            std::atomic<int>& loops;
            ~running() { --loops; }
        } counted{accept_loops};
        for (;;) {
            beast::error_code ec;
            auto& home = *contexts[next_context++ % contexts.size()];
            auto socket = co_await acceptor.async_accept(home.get_executor(), net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                if (ec == net::error::operation_aborted || draining) co_return;
                // Out of descriptors and the like: pause briefly instead of spinning.
                ops::log(spdlog::level::warn, "accept failed", {{"error", ec.message()}});
                net::steady_timer pause(ioc, milliseconds(50));
                co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
                continue;
            }
            if (!co_await make_room()) {
                socket.close(ec);  // every connection is busy: refuse rather than queue
                continue;
            }
            auto slot = std::make_shared<connection_slot>();
            slot->executor = socket.get_executor();
            {
                std::lock_guard lock(slots_mutex);
                slots.push_back(slot);
            }
            auto executor = socket.get_executor();
            net::co_spawn(executor,
                          serve_connection(std::move(socket), connection_env{options, routes, draining}, slot, tls.load()),
                          [self, slot](std::exception_ptr error) {
                              if (error) {
                                  try {
                                      std::rethrow_exception(error);
                                  } catch (const std::exception& e) {
                                      ops::log(spdlog::level::err, "connection failed", {{"error", e.what()}});
                                  }
                              }
                              std::lock_guard lock(self->slots_mutex);
                              self->slots.remove(slot);
                          });
        }
    }

    /// @brief Waits for connections to finish, up to the grace period; then closes what
    /// is left, gives those a moment to unwind, and stops.
    net::awaitable<void> finish_drain() {
        auto self = shared_from_this();
        const auto deadline = steady_clock::now() + milliseconds(options.shutdown_grace_ms);
        bool forced = false;
        net::steady_timer timer(ioc);
        for (;;) {
            std::size_t open;
            {
                std::lock_guard lock(slots_mutex);
                open = slots.size();
                for (auto& slot : slots) {
                    if (forced) {
                        force_close(slot);
                    } else {
                        end_if_idle(slot);
                    }
                }
            }
            if (open == 0 && accept_loops == 0) break;
            const auto now = steady_clock::now();
            if (now >= deadline + seconds(2)) break;  // stuck beyond closing: stop anyway
            if (now >= deadline && !forced) {
                forced = true;
                ops::log(spdlog::level::warn, "grace period over; closing connections", {{"connections", open}});
            }
            timer.expires_after(milliseconds(20));
            beast::error_code ec;
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
        stop_all();
    }

    void stop_all() {
        for (auto& guard : work) guard.reset();
        for (auto& context : contexts) context->stop();
    }
};

server::server(server_options options) : impl_(std::make_shared<impl>(std::move(options))) {
    // Request bodies up to 1 MiB are allocated whole. A fixed mmap threshold (instead of
    // glibc's, which rises to the largest block freed) gives each large body its own
    // mapping, returned to the system when the request ends, so a burst of large requests
    // does not leave the heap at its peak.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    if (tls_enabled()) impl_->tls.store(impl_->load_tls());
}

void server::reload_tls() {
    if (tls_enabled()) impl_->tls.store(impl_->load_tls());
}

bool server::tls_enabled() const noexcept {
    return !impl_->options.tls_cert_file.empty();
}

server::~server() {
    for (auto& context : impl_->contexts) context->stop();
}

std::string server::listen(const std::string& host_port, const router& routes) {
    const auto colon = host_port.rfind(':');
    auto host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto port = static_cast<unsigned short>(std::stoi(host_port.substr(colon + 1)));
    beast::error_code ec;
    tcp::resolver resolver(impl_->ioc);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) throw std::runtime_error("cannot resolve " + host_port + ": " + ec.message());
    const tcp::endpoint endpoint = results.begin()->endpoint();

    auto acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + host_port + ": " + ec.message());
    const auto bound = acceptor->local_endpoint();
    const auto address = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();

    auto& ref = *acceptor;
    impl_->acceptors.push_back(std::move(acceptor));
    ++impl_->accept_loops;
    net::co_spawn(impl_->ioc, impl_->accept_loop(ref, routes), net::detached);
    return address + ":" + std::to_string(bound.port());
}

void server::run() {
    std::vector<std::thread> workers;
    for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
        workers.emplace_back([this, i] { impl_->contexts[i]->run(); });
    }
    impl_->ioc.run();
    for (auto& t : workers) t.join();
}

void server::drain() {
    if (impl_->draining.exchange(true)) return;
    auto self = impl_;
    net::post(impl_->ioc, [self] {
        for (auto& acceptor : self->acceptors) {
            beast::error_code ec;
            acceptor->close(ec);
        }
        net::co_spawn(self->ioc, self->finish_drain(), net::detached);
    });
}

bool server::draining() const noexcept {
    return impl_->draining;
}

std::size_t server::connections() const {
    std::lock_guard lock(impl_->slots_mutex);
    return impl_->slots.size();
}

}  // namespace cc::web
