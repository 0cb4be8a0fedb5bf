#include "cc/app/application.hpp"

#include <csignal>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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
#include "cc/web/router.hpp"
#include "cc/web/server.hpp"
#include "cc/intake/event_writer.hpp"
#include "cc/intake/intake_service.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/keys/registry_watcher.hpp"
#include "cc/ops/logger.hpp"
#include "cc/ops/metrics.hpp"
#include "cc/ops/readiness.hpp"
#include "cc/app/store_factory.hpp"
#include "cc/storage/postgres/change_feed.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/crypto.hpp"

namespace cc::app {
namespace {

web::server_options server_options(const config::settings& s) {
    web::server_options options;
    static_cast<web::http_limits&>(options) = s;
    options.threads = s.threads;
    options.trusted_proxies = s.trusted_proxies;
    options.tls_cert_file = s.tls_cert_file;
    options.tls_key_file = s.tls_key_file;
    return options;
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

/// @brief No core dump and no ptrace by other processes of the same user: a dump or a
/// debugger would show the admin tokens and the keys being created. Returns whether it held.
bool disable_core_dumps() {
    const rlimit none{0, 0};
    const bool no_core = ::setrlimit(RLIMIT_CORE, &none) == 0;
    const bool not_dumpable = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
    return no_core && not_dumpable && ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
}

/// @brief The lines a start-up writes first: how to enable the admin API when it is off,
/// and the configuration warnings (a secret given on the command line).
void log_start_warnings(const config::settings& settings) {
    if (settings.admin_tokens.empty()) {
        ops::log(spdlog::level::warn, "admin API disabled",
                 {{"hint", "no admin token is configured: set CC_ADMIN_TOKEN_FILE to a file holding the token "
                           "(Docker/Kubernetes secrets), or CC_ADMIN_TOKEN (at least 32 characters, e.g. "
                           "CC_ADMIN_TOKEN=$(openssl rand -hex 32)), to enable /admin"}});
    }
    for (const auto& warning : settings.warnings) ops::log(spdlog::level::warn, "insecure configuration", {{"hint", warning}});
}

}  // namespace

int migrate(const config::settings& settings) {
    ops::init_logging(settings.log_level);
    for (const auto& warning : settings.warnings) ops::log(spdlog::level::warn, "insecure configuration", {{"hint", warning}});
    const auto opened = open_store(settings);
    ops::log(spdlog::level::info, "migrated",
             {{"backend", opened.backend},
              {"database", opened.description},
              {"applied", opened.migrations.applied},
              {"schema_version", opened.migrations.current}});
    ops::flush_logs();
    return 0;
}

int serve(config::settings& settings) {
    const bool core_dumps_off = disable_core_dumps();
    // Before any thread starts (the logger's flusher included), so none takes the signal.
    const auto stop_signals = block_stop_signals();
    ops::init_logging(settings.log_level);
    log_start_warnings(settings);

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
    keys::key_controls controls(store, registry, clock);
    intake::intake_service intake(registry, writer, clock, util::system_random(), settings.rate_limits, &controls);
    if (feed) intake.set_index_guard([&feed] { return feed->fresh(); });
    auth::admin_authenticator admin_auth(settings.admin_tokens);
    std::unique_ptr<auth::failure_throttle> admin_throttle;
    if (settings.admin_failure_delay_ms > 0) {
        auth::failure_throttle::policy policy;
        policy.first_delay = std::chrono::milliseconds(settings.admin_failure_delay_ms);
        policy.max_delay = policy.first_delay * 16;
        admin_throttle = std::make_unique<auth::failure_throttle>(policy);
        admin_auth.set_throttle(admin_throttle.get());
    }
    // Hashed now: the plain tokens have no further use in this process.
    for (auto& token : settings.admin_tokens) util::cleanse(token);
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
    // Readiness never blocks a network thread: the storage query runs on the readiness
    // thread (its result cached), the drain flag and the commit counters are read live.
    ops::readiness ready(std::chrono::milliseconds(500), std::chrono::milliseconds(5'000), std::chrono::milliseconds(10'000));
    ready.add_flag("draining", [&server]() -> std::optional<std::string> {
        if (server.draining()) return "the service is shutting down";
        return std::nullopt;
    });
    // Several nodes: a node that cannot vouch for its key index is not ready (SPEC §5).
    ready.add_flag("key_index", [&feed]() -> std::optional<std::string> {
        if (feed && !feed->fresh()) return "key index may be stale: " + feed->problem();
        return std::nullopt;
    });
    const auto commits_problem = [&ready] {
        const auto& m = ops::global_metrics();
        return ready.commit_problem(m.commit_failures.last_change(), m.commit_batch_size.last_change(),
                                    ops::readiness::clock::now());
    };
    ready.add_flag("storage", commits_problem);
    ready.add_probe("storage", [&store]() -> std::optional<std::string> {
        store.check();
        return std::nullopt;
    });
    ready.start();
    api::ops_api ops_routes([&ready] { return ready.report(); });

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
    for (const auto* routes : {&public_routes, &admin_routes, &metrics_routes}) {
        for (const auto& r : routes->routes()) {
            ops::global_metrics().seed_route(r.pattern, std::string(web::bhttp::to_string(r.method)));
        }
    }

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
    listening["version"] = CC_VERSION;
    listening["backend"] = opened.backend;
    listening["database"] = opened.description;
    listening["schema_version"] = opened.migrations.current;
    listening["keys"] = registry.key_count();
    listening["threads"] = settings.threads;
    listening["tls"] = server.tls_enabled();
    listening["admin_api"] = admin_auth.enabled();
    listening["core_dumps"] = !core_dumps_off;
    ops::log_lifecycle("listening", listening);
    ops::flush_logs();

    // One thread waits for signals: SIGHUP reloads the TLS certificate, SIGTERM or
    // SIGINT starts the drain.
    std::thread signal_waiter([&server, &leaks, &admin_throttle, stop_signals] {
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
            if (admin_throttle) admin_throttle->stop();  // delayed 401s go out now
            return;
        }
    });

    server.run();                 // returns once in-flight requests are answered
    signal_waiter.join();
    writer.stop();                // commits everything already acknowledged or queued
    blocking_pool.join();
    ready.stop();
    background.stop();            // last flush of last-used times
    if (feed) feed->stop();
    ops::log_lifecycle("stopped", {{"connections_left", server.connections()}});
    ops::flush_logs();
    return 0;
}

}  // namespace cc::app
