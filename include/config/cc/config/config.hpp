#pragma once
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cc/web/server_options.hpp"
#include "cc/keys/rate_limiter.hpp"

namespace cc::config {

using keys::rate_limit;

/// @brief The whole configuration, parsed and checked once at start-up.
/// Defaults are the embedded defaults: SQLite under data/, listening on 127.0.0.1:8080.
/// The HTTP server's limits and timeouts are web::http_limits, with their defaults.
struct settings : web::http_limits {
    std::string listen = "127.0.0.1:8080";
    std::string database = "data/cc-inbound.db";
    std::string database_url;  ///< libpq connection string; when set, PostgreSQL replaces SQLite
    std::vector<std::string> admin_tokens;
    int threads = 0;  ///< 0: the number of cores
    std::vector<std::string> cors_origins;
    std::map<std::string, rate_limit> rate_limits = {
        {"pulse", {2'000, 4'000}},
        {"signal", {5'000, 10'000}},
        {"clarity", {10'000, 20'000}},
        {"command", {20'000, 40'000}},
    };
    std::string log_level = "info";
    int commit_max_events = 2'000;
    int writer_queue_capacity = 100'000;
    int writer_queue_max_bytes = 256 * 1024 * 1024;  ///< bytes of queued events before 503
    std::string sqlite_synchronous = "full";
    int busy_timeout_ms = 5'000;
    int last_used_flush_ms = 1'000;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string admin_listen;    ///< empty: the admin API is served on `listen`
    std::string metrics_listen;  ///< empty: /metrics is served on `listen`
    std::vector<std::string> trusted_proxies;
    int retention_days = 400;
    std::string leak_report_keys_file;  ///< GitHub secret-scanning keys; empty: POST /__cc/leaks is 404
    int admin_failure_delay_ms = 250;  ///< first delay of repeated failed admin auths per address; 0: off
    std::vector<std::string> warnings;  ///< found while loading (a secret on the command line); logged at start-up
};

/// @brief A setting that failed to parse or check; `what()` is one line naming it.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// @brief Describes one setting: its JSON name, environment variable, flag and default.
struct setting_info {
    std::string name;     ///< key in the JSON file, e.g. "header_timeout_ms"
    std::string env;      ///< e.g. "CC_HEADER_TIMEOUT_MS"
    std::string flag;     ///< e.g. "--header-timeout-ms"
    std::string help;
    std::string default_text;
};

/// @brief Every setting, in documentation order.
const std::vector<setting_info>& all_settings();

/// @brief Where settings come from; later sources override earlier ones.
struct sources {
    std::optional<std::string> file;                 ///< JSON file path (--config / CC_CONFIG)
    std::map<std::string, std::string> environment;  ///< CC_* variables
    std::map<std::string, std::string> flags;        ///< setting name -> command-line value
};

/// @brief Builds settings: defaults, then the file, then the environment, then flags.
/// Throws config_error naming the first bad setting.
settings load(const sources& from);

/// @brief The CC_* variables of this process's environment.
std::map<std::string, std::string> process_environment();

/// @brief Shortest admin token accepted: 32 characters (e.g. `openssl rand -hex 32` gives 64).
inline constexpr std::size_t min_admin_token_length = 32;

/// @brief True for a setting that holds a secret (an admin token, a database URL): it
/// also reads from a file (`<name>_file`, `CC_<NAME>_FILE`, `--<name>-file`), and its
/// value is never quoted in an error.
bool is_secret_setting(const std::string& name);

/// @brief Overwrites the values of the secret CC_* variables in this process's
/// environment block (what /proc/PID/environ shows) and unsets them, once read.
void scrub_secret_environment();

}  // namespace cc::config
