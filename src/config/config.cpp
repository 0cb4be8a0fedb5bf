#include "cc/config/config.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

extern char** environ;

namespace cc::config {
namespace {

using json = nlohmann::json;

/// @brief How to read one setting from text (environment, flag, or a JSON scalar).
struct setting_parser {
    setting_info info;
    std::function<void(settings&, const std::string&)> parse;
};

int parse_int(const std::string& text, int min, int max) {
    int value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) {
        throw config_error("expected a whole number, got '" + text + "'");
    }
    if (value < min || value > max) {
        throw config_error("must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", got " + text);
    }
    return value;
}

std::vector<std::string> parse_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    }
    return items;
}

/// @brief The admin tokens of a comma-separated list, each at least 32 characters: a
/// short token can be guessed. The error gives the length, never the token.
std::vector<std::string> parse_admin_tokens(const std::string& text) {
    auto tokens = parse_list(text);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i].size() < min_admin_token_length) {
            throw config_error("admin token " + std::to_string(i + 1) + " has " + std::to_string(tokens[i].size()) +
                               " characters; at least " + std::to_string(min_admin_token_length) +
                               " are required (make one with: openssl rand -hex 32)");
        }
    }
    return tokens;
}

void check_host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw config_error("expected host:port, got '" + text + "'");
    }
    parse_int(text.substr(colon + 1), 0, 65535);
}

rate_limit parse_rate_limit(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
        throw config_error("expected per_second:burst, got '" + text + "'");
    }
    rate_limit limit;
    try {
        std::size_t used = 0;
        limit.per_second = std::stod(text.substr(0, colon), &used);
        if (used != colon) throw std::invalid_argument("rate");
        const auto burst = text.substr(colon + 1);
        limit.burst = std::stod(burst, &used);
        if (used != burst.size()) throw std::invalid_argument("burst");
    } catch (const std::logic_error&) {
        throw config_error("expected per_second:burst, got '" + text + "'");
    }
    if (!(limit.per_second > 0) || !(limit.burst >= 1)) {
        throw config_error("rate must be > 0 and burst >= 1, got '" + text + "'");
    }
    return limit;
}

std::string to_env(const std::string& name) {
    std::string env = "CC_";
    for (char c : name) env.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return env;
}

std::string to_flag(const std::string& name) {
    std::string flag = "--";
    for (char c : name) flag.push_back(c == '_' ? '-' : c);
    return flag;
}

void util_cleanse(std::string& secret) {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

/// @brief A secret file's content without its final line break(s).
std::string read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error("cannot read " + path);
    std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) throw config_error("the file " + path + " is empty");
    return value;
}

setting_parser make(std::string name, std::string help, std::string default_text,
                    std::function<void(settings&, const std::string&)> parse) {
    setting_info info{name, to_env(name), to_flag(name), std::move(help), std::move(default_text)};
    return {std::move(info), std::move(parse)};
}

setting_parser int_setting(std::string name, int settings::*field, int min, int max, std::string help) {
    const settings defaults;
    return make(std::move(name), std::move(help), std::to_string(defaults.*field),
                [=](settings& s, const std::string& text) { s.*field = parse_int(text, min, max); });
}

setting_parser text_setting(std::string name, std::string settings::*field, std::string help,
                            std::function<void(const std::string&)> check = {}) {
    const settings defaults;
    const std::string shown = (defaults.*field).empty() ? "(none)" : defaults.*field;
    return make(std::move(name), std::move(help), shown, [=](settings& s, const std::string& text) {
        if (check) check(text);
        s.*field = text;
    });
}

setting_parser list_setting(std::string name, std::vector<std::string> settings::*field, std::string help) {
    return make(std::move(name), std::move(help), "(none)",
                [=](settings& s, const std::string& text) { s.*field = parse_list(text); });
}

const std::vector<setting_parser>& parsers() {
    static const std::vector<setting_parser> all = [] {
        std::vector<setting_parser> p;
        p.push_back(text_setting("listen", &settings::listen, "address of the public listener (host:port; port 0 picks a free one)",
                                 check_host_port));
        p.push_back(text_setting("database", &settings::database, "SQLite database file", [](const std::string& t) {
            if (t.empty()) throw config_error("must not be empty");
        }));
        p.push_back(text_setting("database_url", &settings::database_url,
                                 "PostgreSQL connection string (postgresql://...); when set, replaces the SQLite database"));
        p.push_back(make("admin_token", "an admin bearer token to accept (the file takes \"admin_tokens\": [..])",
                         "(none: the admin API refuses everything)",
                         [](settings& s, const std::string& text) { s.admin_tokens = parse_admin_tokens(text); }));
        p.push_back(make("admin_tokens", "admin bearer tokens to accept (comma-separated)", "(none)",
                         [](settings& s, const std::string& text) { s.admin_tokens = parse_admin_tokens(text); }));
        p.push_back(make("threads", "worker threads", "number of cores",
                         [](settings& s, const std::string& t) { s.threads = parse_int(t, 0, 256); }));
        p.push_back(int_setting("header_timeout_ms", &settings::header_timeout_ms, 1, 600'000, "time allowed to receive request headers"));
        p.push_back(int_setting("body_timeout_ms", &settings::body_timeout_ms, 1, 3'600'000, "time allowed to receive a request body"));
        p.push_back(int_setting("idle_timeout_ms", &settings::idle_timeout_ms, 1, 3'600'000, "keep-alive idle time before a connection is closed"));
        p.push_back(int_setting("max_connections", &settings::max_connections, 1, 1'000'000, "concurrent connections accepted"));
        p.push_back(int_setting("max_header_bytes", &settings::max_header_bytes, 1024, 1 << 20, "largest request header block (431 beyond)"));
        p.push_back(int_setting("shutdown_grace_ms", &settings::shutdown_grace_ms, 0, 600'000, "time in-flight requests get to finish on SIGTERM"));
        p.push_back(list_setting("cors_origins", &settings::cors_origins, "dashboard origins allowed by CORS (comma-separated)"));
        for (const std::string plan : {"pulse", "signal", "clarity", "command"}) {
            const settings defaults;
            const auto& d = defaults.rate_limits.at(plan);
            std::ostringstream shown;
            shown << d.per_second << ":" << d.burst;
            p.push_back(make("rate_limit_" + plan, "per-key rate limit of the " + plan + " plan (per_second:burst)",
                             shown.str(), [plan](settings& s, const std::string& t) {
                                 s.rate_limits[plan] = parse_rate_limit(t);
                             }));
        }
        p.push_back(text_setting("log_level", &settings::log_level, "trace, debug, info, warning, error", [](const std::string& t) {
            // "warning" is how log lines spell the level; "warn" and "err" are spdlog's short names.
            static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "warning", "err", "error", "critical", "off"};
            if (!levels.contains(t)) {
                throw config_error("expected one of trace, debug, info, warning, error, critical, off, got '" + t + "'");
            }
        }));
        p.push_back(int_setting("commit_max_events", &settings::commit_max_events, 1, 100'000, "most events in one group commit"));
        p.push_back(int_setting("writer_queue_capacity", &settings::writer_queue_capacity, 1, 10'000'000, "events waiting for commit before 503"));
        p.push_back(int_setting("writer_queue_max_bytes", &settings::writer_queue_max_bytes, 1024 * 1024, 2'000'000'000, "bytes of events waiting for commit before 503"));
        p.push_back(text_setting("sqlite_synchronous", &settings::sqlite_synchronous, "SQLite synchronous level: normal, full or extra",
                                 [](const std::string& t) {
                                     if (t != "normal" && t != "full" && t != "extra")
                                         throw config_error("expected normal, full or extra, got '" + t + "'");
                                 }));
        p.push_back(int_setting("busy_timeout_ms", &settings::busy_timeout_ms, 0, 600'000, "wait for a database locked by another process"));
        p.push_back(int_setting("last_used_flush_ms", &settings::last_used_flush_ms, 10, 60'000, "how often last-used times are written"));
        p.push_back(text_setting("tls_cert_file", &settings::tls_cert_file, "PEM certificate chain; with tls_key_file, serves HTTPS"));
        p.push_back(text_setting("tls_key_file", &settings::tls_key_file, "PEM private key"));
        p.push_back(text_setting("admin_listen", &settings::admin_listen, "separate listener for /admin (host:port)", check_host_port));
        p.push_back(text_setting("metrics_listen", &settings::metrics_listen, "separate listener for /metrics (host:port)", check_host_port));
        p.push_back(list_setting("trusted_proxies", &settings::trusted_proxies, "proxy addresses whose X-Forwarded-For is believed"));
        p.push_back(int_setting("retention_days", &settings::retention_days, 1, 36'500, "events older than this are purged"));
        p.push_back(text_setting("leak_report_keys_file", &settings::leak_report_keys_file,
                                 "GitHub secret-scanning public keys (JSON); enables POST /__cc/leaks, reloaded on SIGHUP"));
        p.push_back(int_setting("admin_failure_delay_ms", &settings::admin_failure_delay_ms, 0, 60'000,
                                "after 5 failed admin authentications from one address, each further one is answered "
                                "this much later, doubling up to 16 times as much (0: off)"));
        // Every secret also reads from a file (Docker and Kubernetes secrets, the *_FILE
        // convention of the official images), so it need not sit in the environment or
        // on the command line. The file holds the value; a final newline is dropped.
        const auto count = p.size();
        for (std::size_t i = 0; i < count; ++i) {
            if (!is_secret_setting(p[i].info.name)) continue;
            const auto base = p[i];
            p.push_back(make(base.info.name + "_file", "file holding " + base.info.name + " (instead of " + base.info.env + ")",
                             "(none)", [base](settings& s, const std::string& path) {
                                 std::string value = read_secret_file(path);
                                 try {
                                     base.parse(s, value);
                                 } catch (const config_error& e) {
                                     std::string why = e.what();
                                     const bool quoted = why.find(value) != std::string::npos;
                                     util_cleanse(value);
                                     throw config_error("the file " + path + ": " +
                                                        (quoted ? "does not hold a valid " + base.info.name : why));
                                 }
                                 util_cleanse(value);
                             }));
        }
        return p;
    }();
    return all;
}

const setting_parser* find_parser(const std::string& name) {
    for (const auto& p : parsers()) {
        if (p.info.name == name) return &p;
    }
    return nullptr;
}

void apply(settings& s, const setting_parser& p, const std::string& text, const std::string& origin) {
    try {
        p.parse(s, text);
    } catch (const config_error& e) {
        std::string why = e.what();
        // A secret's value never reaches an error message, not even a piece of it.
        if (is_secret_setting(p.info.name) && !text.empty() && why.find(text) != std::string::npos) {
            why = "the value is not valid (not shown: it is a secret)";
        }
        throw config_error("setting '" + p.info.name + "' (" + origin + "): " + why);
    }
}

/// @brief A JSON value as the text the setting parsers read.
std::string json_as_text(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
        std::string joined;
        for (const auto& item : value) {
            if (!joined.empty()) joined += ',';
            joined += json_as_text(item);
        }
        return joined;
    }
    if (value.is_object() && value.contains("per_second") && value.contains("burst")) {
        return json_as_text(value["per_second"]) + ":" + json_as_text(value["burst"]);
    }
    if (value.is_number() || value.is_boolean()) return value.dump();
    // The value itself is not quoted: it may be a secret.
    throw config_error(std::string("unsupported value of type ") + value.type_name());
}

/// @brief "line L, column C" of a byte offset (1-based) in `text`.
std::string position_of(const std::string& text, std::size_t byte) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

void apply_file(settings& s, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error("config file '" + path + "' cannot be read");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json doc;
    try {
        doc = json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // The position only: the parser's own message quotes the text it was reading,
        // which may be a token.
        throw config_error("config file '" + path + "' is not valid JSON: syntax error at " + position_of(text, e.byte));
    } catch (const json::exception&) {
        throw config_error("config file '" + path + "' is not valid JSON");
    }
    if (!doc.is_object()) throw config_error("config file '" + path + "' must hold a JSON object");
    for (const auto& [name, value] : doc.items()) {
        if (name.starts_with("_")) continue;  // "_comment" and the like document the file
        const auto* p = find_parser(name);
        if (!p) throw config_error("config file '" + path + "': unknown setting '" + name + "'");
        std::string text;
        try {
            text = json_as_text(value);
        } catch (const config_error& e) {
            throw config_error("setting '" + name + "' (" + path + "): " + e.what());
        }
        apply(s, *p, text, path);
    }
}

}  // namespace

const std::vector<setting_info>& all_settings() {
    static const std::vector<setting_info> infos = [] {
        std::vector<setting_info> out;
        for (const auto& p : parsers()) out.push_back(p.info);
        return out;
    }();
    return infos;
}

settings load(const sources& from) {
    settings s;
    for (const auto& p : parsers()) {
        if (!is_secret_setting(p.info.name)) continue;
        const auto file_env = p.info.env + "_FILE";
        if (from.environment.contains(p.info.env) && from.environment.contains(file_env)) {
            throw config_error("setting '" + p.info.name + "': set " + p.info.env + " or " + file_env + ", not both");
        }
        if (from.flags.contains(p.info.name)) {
            s.warnings.push_back(p.info.flag + " on the command line is visible to every user of this machine (ps, /proc/PID/cmdline); use " +
                                 p.info.flag + "-file or " + file_env + " instead");
        }
    }
    if (from.file) apply_file(s, *from.file);
    for (const auto& p : parsers()) {
        if (const auto it = from.environment.find(p.info.env); it != from.environment.end()) {
            apply(s, p, it->second, p.info.env);
        }
    }
    for (const auto& [name, text] : from.flags) {
        const auto* p = find_parser(name);
        if (!p) throw config_error("unknown setting '" + name + "'");
        apply(s, *p, text, p->info.flag);
    }
    if (s.threads == 0) s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (s.tls_cert_file.empty() != s.tls_key_file.empty()) {
        throw config_error("setting 'tls_cert_file': tls_cert_file and tls_key_file go together");
    }
    return s;
}

bool is_secret_setting(const std::string& name) {
    static const std::set<std::string> secrets = {"admin_token", "admin_tokens", "database_url"};
    return secrets.contains(name);
}

void scrub_secret_environment() {
    for (const auto& p : parsers()) {
        if (!is_secret_setting(p.info.name)) continue;
        const std::string prefix = p.info.env + "=";
        for (char** entry = environ; entry && *entry; ++entry) {
            // The bytes themselves, in place: unsetenv alone leaves them in the initial
            // environment block, which /proc/PID/environ shows.
            if (std::strncmp(*entry, prefix.c_str(), prefix.size()) == 0) {
                char* value = *entry + prefix.size();
                OPENSSL_cleanse(value, std::strlen(value));
            }
        }
        unsetenv(p.info.env.c_str());
    }
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view text(*entry);
        if (!text.starts_with("CC_")) continue;
        const auto eq = text.find('=');
        if (eq != std::string_view::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
    return env;
}

}  // namespace cc::config
