#include "cc/app/application.hpp"

#include <csignal>
#include <pthread.h>

#include <boost/asio/thread_pool.hpp>
#include <boost/asio/post.hpp>

#include "cc/api/admin_api.hpp"
#include "cc/api/dashboard_api.hpp"
#include "cc/api/inbound_api.hpp"
#include "cc/api/leak_api.hpp"
#include "cc/api/openapi_api.hpp"
#include "cc/api/ops_api.hpp"
#include "cc/app/health_probe.hpp"
#include "cc/app/maintenance.hpp"
#include "cc/http/router.hpp"
#include "cc/http/server.hpp"
#include "cc/intake/event_writer.hpp"
#include "cc/intake/intake_service.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/keys/registry_watcher.hpp"
#include "cc/ops/logger.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/app/store_factory.hpp"
#include "cc/storage/postgres/change_feed.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::app {
namespace {

web::server_options server_options(const config::settings& s) {
    return {s.threads,         s.header_timeout_ms, s.body_timeout_ms,   s.idle_timeout_ms, s.max_connections,
            s.max_header_bytes, s.shutdown_grace_ms, s.trusted_proxies, s.tls_cert_file,   s.tls_key_file};
}

/// @brief Blocks SIGTERM and SIGINT in every thread started after it, so that one
/// thread can wait for them with sigwait.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

}  // namespace

int migrate(const config::settings& settings) {
    ops::init_logging(settings.log_level);
    const auto opened = open_store(settings);
    ops::log(spdlog::level::info, "migrated",
             {{"backend", opened.backend},
              {"database", opened.description},
              {"applied", opened.migrations.applied},
              {"schema_version", opened.migrations.current}});
    ops::flush_logs();
    return 0;
}

int serve(const config::settings& settings) {
    // Before any thread starts (the logger's flusher included), so none takes the signal.
    const auto stop_signals = block_stop_signals();
    ops::init_logging(settings.log_level);

    auto opened = open_store(settings);
    auto& store = *opened.store;
    util::system_clock clock;
    keys::key_registry registry;
    keys::key_service keys(store, registry, clock, util::system_random());
    keys.reload();
    // Several nodes: the change feed keeps this node's key index current with the others'
    // changes, and inbound fails closed while it cannot vouch for that.
    std::unique_ptr<storage::postgres::change_feed> feed;
    if (opened.backend == "postgres") {
        feed = std::make_unique<storage::postgres::change_feed>(settings.database_url, [&keys] { keys.reload(); });
        feed->wait_fresh(std::chrono::seconds(5));
    }

    intake::event_writer writer(store, static_cast<std::size_t>(settings.commit_max_events),
                                static_cast<std::size_t>(settings.writer_queue_capacity),
                                static_cast<std::size_t>(settings.writer_queue_max_bytes));
    keys::key_controls controls(store, registry, clock,
                                [](const std::string& code) { return static_cast<int>(web::status_for(code)); });
    intake::intake_service intake(registry, writer, clock, util::system_random(), settings.rate_limits, &controls);
    if (feed) intake.set_index_guard([&feed] { return feed->fresh(); });
    auth::admin_authenticator admin_auth(settings.admin_tokens);
    boost::asio::thread_pool blocking_pool(2);
    api::admin_api admin(keys, store, admin_auth, settings.cors_origins,
                         [&blocking_pool](std::function<void()> work) { boost::asio::post(blocking_pool, std::move(work)); },
                         &controls);
    api::inbound_api inbound(intake);
    std::unique_ptr<api::leak_api> leaks;
    if (!settings.leak_report_keys_file.empty()) {
        try {
            leaks = std::make_unique<api::leak_api>(
                settings.leak_report_keys_file, controls,
                [&blocking_pool](std::function<void()> work) { boost::asio::post(blocking_pool, std::move(work)); });
        } catch (const std::exception& e) {
            ops::log(spdlog::level::critical, "cannot start", {{"error", e.what()}});
            ops::flush_logs();
            return 1;
        }
    }

    std::unique_ptr<web::server> server_holder;
    try {
        server_holder = std::make_unique<web::server>(server_options(settings));
    } catch (const std::exception& e) {
        ops::log(spdlog::level::critical, "cannot start", {{"error", e.what()}});
        ops::flush_logs();
        return 1;
    }
    auto& server = *server_holder;
    api::ops_api ops_routes([&] {
        if (server.draining()) return false;
        store.check();
        if (feed && !feed->fresh()) throw std::runtime_error("key index may be stale: " + feed->problem());
        return true;
    });

    // The public listener carries intake and health; admin and metrics join it unless
    // they have listeners of their own.
    web::router public_routes, admin_routes, metrics_routes;
    inbound.register_routes(public_routes);
    if (leaks) leaks->register_routes(public_routes);
    ops_routes.register_health(public_routes);
    api::register_openapi(public_routes);
    admin.register_routes(settings.admin_listen.empty() ? public_routes : admin_routes);
    // The dashboard goes where the admin API is, so its calls are same-origin.
    api::dashboard_api().register_routes(settings.admin_listen.empty() ? public_routes : admin_routes);
    ops_routes.register_metrics(settings.metrics_listen.empty() ? public_routes : metrics_routes);

    nlohmann::json listening;
    try {
        listening["address"] = server.listen(settings.listen, public_routes);
        record_listen_address(settings.database, listening["address"].get<std::string>());
        if (!settings.admin_listen.empty()) listening["admin_address"] = server.listen(settings.admin_listen, admin_routes);
        if (!settings.metrics_listen.empty()) {
            listening["metrics_address"] = server.listen(settings.metrics_listen, metrics_routes);
        }
    } catch (const std::exception& e) {
        ops::log(spdlog::level::critical, "cannot listen", {{"error", e.what()}});
        ops::flush_logs();
        writer.stop();
        return 1;
    }

    maintenance background(store, registry, keys, std::chrono::milliseconds(settings.last_used_flush_ms),
                           settings.retention_days, &controls);
    // Changes made by the operator CLI reach this index within 100 ms (SPEC §4).
    keys::registry_watcher registry_watch(keys, std::chrono::milliseconds(20));
    if (!admin_auth.enabled()) {
        ops::log(spdlog::level::warn, "admin API disabled",
                 {{"hint", "no admin token is configured: set CC_ADMIN_TOKEN (e.g. CC_ADMIN_TOKEN=$(openssl rand -hex 32)) "
                           "to enable /admin"}});
    }
    listening["version"] = CC_VERSION;
    listening["backend"] = opened.backend;
    listening["database"] = opened.description;
    listening["schema_version"] = opened.migrations.current;
    listening["keys"] = registry.key_count();
    listening["threads"] = settings.threads;
    listening["tls"] = server.tls_enabled();
    ops::log_lifecycle("listening", listening);
    ops::flush_logs();

    // One thread waits for signals: SIGHUP reloads the TLS certificate, SIGTERM or
    // SIGINT starts the drain.
    std::thread signal_waiter([&server, &leaks, stop_signals] {
        for (;;) {
            int signal = 0;
            sigwait(&stop_signals, &signal);
            if (signal == SIGHUP) {
                if (leaks) leaks->reload();
                try {
                    server.reload_tls();
                    ops::log(spdlog::level::info, "tls reloaded", {{"enabled", server.tls_enabled()}});
                } catch (const std::exception& e) {
                    ops::log(spdlog::level::err, "tls reload failed; keeping the current certificate", {{"error", e.what()}});
                }
                continue;
            }
            ops::log_lifecycle("stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
            server.drain();
            return;
        }
    });

    server.run();                 // returns once in-flight requests are answered
    signal_waiter.join();
    writer.stop();                // commits everything already acknowledged or queued
    blocking_pool.join();
    background.stop();            // last flush of last-used times
    if (feed) feed->stop();
    ops::log_lifecycle("stopped", {{"connections_left", server.connections()}});
    ops::flush_logs();
    return 0;
}

}  // namespace cc::app
