#include "cc/app/cli.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cc/api/views.hpp"
#include "cc/app/application.hpp"
#include "cc/app/health_probe.hpp"
#include "cc/config/config.hpp"
#include "cc/keys/key_controls.hpp"
#include "cc/keys/key_service.hpp"
#include "cc/app/store_factory.hpp"
#include "cc/storage/sqlite/sqlite_storage.hpp"
#include "cc/storage/storage_error.hpp"
#include "cc/util/crypto.hpp"
#include "cc/util/rfc3339.hpp"

namespace cc::app {
namespace {

/// @brief Operator commands run against the database directly, as actor "cli".
class operator_commands {
public:
    explicit operator_commands(const config::settings& s)
        : opened_(open_store(s)), keys_(*opened_.store, registry_, clock_, util::system_random()) {}

    keys::key_service& keys() { return keys_; }
    keys::key_controls& controls() { return controls_; }

    /// @brief Prints the value as JSON, or the failure on stderr; returns the exit code.
    template <typename T, typename Render>
    static int print(const util::outcome<T>& result, Render render) {
        if (!result.ok()) {
            const auto& f = result.error();
            std::cerr << "error: " << util::to_text(f.code) << ": " << f.message << "\n";
            for (const auto& d : f.details) std::cerr << "  " << d.field << ": " << d.problem << "\n";
            return 1;
        }
        std::cout << render(result.value()).dump(2) << std::endl;
        return 0;
    }

private:
    opened_store opened_;
    util::system_clock clock_;
    keys::key_registry registry_;
    keys::key_service keys_;
    keys::key_controls controls_{*opened_.store, registry_, clock_};
};

/// @brief Normalizes `--allowed-ips` entries; prints the problems and returns nullopt when bad.
std::optional<std::vector<std::string>> cli_allowed_ips(const std::vector<std::string>& entries) {
    auto checked = keys::normalize_allowed_ips(entries);
    if (checked.problems.empty()) return std::move(checked.normalized);
    std::cerr << "error: validation_failed: invalid allowed IPs\n";
    for (const auto& p : checked.problems) std::cerr << "  " << p.field << ": " << p.problem << "\n";
    return std::nullopt;
}

const keys::actor cli_actor{"cli", std::nullopt};

/// @brief Overwrites the values of secret flags in argv (what /proc/PID/cmdline shows),
/// once parsed. It narrows the window; the start-up warning still says to use a file.
void scrub_secret_arguments(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        for (const auto& s : config::all_settings()) {
            if (!config::is_secret_setting(s.name)) continue;
            const std::string flag = s.flag;
            if (flag == argv[i] && i + 1 < argc) {
                std::memset(argv[i + 1], 'x', std::strlen(argv[i + 1]));
            } else if (std::strncmp(argv[i], (flag + "=").c_str(), flag.size() + 1) == 0) {
                std::memset(argv[i] + flag.size() + 1, 'x', std::strlen(argv[i] + flag.size() + 1));
            }
        }
    }
}

/// @brief Creates the backup file exclusively, never through a symbolic link (a dangling
/// one included), readable by the owner only. Returns the open descriptor or -1.
int create_backup_file(const std::string& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) error = std::strerror(errno);
    return fd;
}

/// @brief False (with a message) when the database file is not there: only `migrate`
/// and `serve` create one, so a typo in a path cannot leave an empty database behind.
bool database_exists(const std::string& path, const char* command) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return true;
    std::cerr << "cc-inbound: " << command << ": no database at " << path
              << " (check CC_DATABASE / --database; run `cc-inbound migrate` to create one)\n";
    return false;
}

}  // namespace

int run_cli(int argc, char** argv) {
    // Files and folders this process creates (database, -wal, -shm, backups, the data
    // folder) are its owner's only, whatever umask the caller had.
    ::umask(077);
    CLI::App app{"cc-inbound: the CleanClicks inbound event and API-key service"};
    app.fallthrough();
    app.require_subcommand(0, 1);

    std::optional<std::string> config_file;
    app.add_option("--config", config_file, "JSON configuration file (also CC_CONFIG)");
    std::map<std::string, std::string> flags;
    for (const auto& s : config::all_settings()) {
        app.add_option_function<std::string>(
            s.flag, [&flags, name = s.name](const std::string& v) { flags[name] = v; },
            s.help + " (env " + s.env + ", default " + s.default_text + ")");
    }

    auto* serve_cmd = app.add_subcommand("serve", "serve HTTP (the default)");
    auto* migrate_cmd = app.add_subcommand("migrate", "apply database migrations and exit");
    auto* health_cmd = app.add_subcommand("healthcheck", "exit 0 when GET /healthz on the listen address answers 200");
    auto* backup_cmd = app.add_subcommand("backup", "write a consistent copy of the database, safe while serving");
    std::string backup_path;
    backup_cmd->add_option("path", backup_path, "the new database file (must not exist)")->required();

    auto* domains_cmd = app.add_subcommand("domains", "manage domains and plans");
    domains_cmd->require_subcommand(1);
    std::string domain, plan, name, key_id, expires_at;
    std::int64_t grace_seconds = 86'400;
    auto* domains_set = domains_cmd->add_subcommand("set", "create a domain or change its plan");
    domains_set->add_option("domain", domain)->required();
    domains_set->add_option("plan", plan, "pulse, signal, clarity or command")->required();
    auto* domains_list = domains_cmd->add_subcommand("list", "list domains");

    auto* keys_cmd = app.add_subcommand("keys", "manage inbound integration keys");
    keys_cmd->require_subcommand(1);
    auto* keys_create = keys_cmd->add_subcommand("create", "create a key; prints the full key once");
    keys_create->add_option("--domain", domain)->required();
    keys_create->add_option("--name", name)->required();
    keys_create->add_option("--expires-at", expires_at, "RFC 3339 time after which the key stops working");
    std::vector<std::string> allowed_ips;
    keys_create->add_option("--allowed-ips", allowed_ips, "IPv4/IPv6 addresses or CIDR blocks the key may be used from (comma-separated)")
        ->delimiter(',');
    auto* keys_allow = keys_cmd->add_subcommand("allow-ips", "set the addresses a key may be used from (none given: any)");
    keys_allow->add_option("id", key_id)->required();
    keys_allow->add_option("entries", allowed_ips, "IPv4/IPv6 addresses or CIDR blocks");
    auto* keys_list = keys_cmd->add_subcommand("list", "list a domain's keys");
    keys_list->add_option("--domain", domain)->required();
    auto* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key");
    auto* keys_restore = keys_cmd->add_subcommand("restore", "restore a revoked key");
    auto* keys_delete = keys_cmd->add_subcommand("delete", "delete a key for good");
    auto* keys_roll = keys_cmd->add_subcommand("roll", "issue a replacement key; the old one expires after the grace");
    for (auto* cmd : {keys_revoke, keys_restore, keys_delete, keys_roll}) cmd->add_option("id", key_id)->required();
    keys_roll->add_option("--grace-seconds", grace_seconds, "0 to 2592000, default 86400");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    config::settings settings;
    try {
        config::sources sources;
        sources.environment = config::process_environment();
        if (config_file) {
            sources.file = *config_file;
        } else if (const auto it = sources.environment.find("CC_CONFIG"); it != sources.environment.end()) {
            sources.file = it->second;
        }
        sources.flags = flags;
        settings = config::load(sources);
        for (const auto& info : config::all_settings()) {
            const auto it = sources.environment.find(info.env);
            if (config::is_secret_setting(info.name) && it != sources.environment.end()) util::cleanse(it->second);
        }
    } catch (const config::config_error& e) {
        std::cerr << "cc-inbound: " << e.what() << std::endl;
        return 2;
    }
    // Secrets read, their copies go: the environment block, argv, the flag map.
    config::scrub_secret_environment();
    scrub_secret_arguments(argc, argv);
    for (auto& [name, value] : flags) {
        if (config::is_secret_setting(name)) util::cleanse(value);
    }

    try {
        if (migrate_cmd->parsed()) return migrate(settings);
        if (health_cmd->parsed()) {
            // An address given to this command wins; else where serve says it listens.
            auto address = settings.listen;
            if (!flags.contains("listen")) address = recorded_listen_address(settings.database).value_or(address);
            return probe_health(address, !settings.tls_cert_file.empty()) ? 0 : 1;
        }
        if (backup_cmd->parsed()) {
            if (!settings.database_url.empty()) {
                std::cerr << "cc-inbound: backup copies a SQLite database; this deployment stores in PostgreSQL "
                             "(CC_DATABASE_URL is set). Back it up with PostgreSQL's own tools: pg_dump for a "
                             "logical copy, or pg_basebackup with WAL archiving for point-in-time recovery "
                             "(docs/SCALING.md).\n";
                return 2;
            }
            std::error_code ignored;
            if (std::filesystem::exists(std::filesystem::symlink_status(backup_path, ignored))) {
                std::cerr << "cc-inbound: backup: " << backup_path << " already exists\n";
                return 2;
            }
            if (!database_exists(settings.database, "backup")) return 1;
            storage::sqlite::sqlite_storage store(sqlite_options(settings));
            // O_EXCL | O_NOFOLLOW: the file is ours, new, and not a link planted to
            // redirect the copy elsewhere; SQLite then writes into the empty file.
            std::string error;
            const int fd = create_backup_file(backup_path, error);
            if (fd < 0) {
                std::cerr << "cc-inbound: backup: cannot create " << backup_path << ": " << error << "\n";
                return 2;
            }
            struct stat created {};
            ::fstat(fd, &created);
            store.backup(backup_path);
            struct stat written {};
            const bool same = ::lstat(backup_path.c_str(), &written) == 0 && S_ISREG(written.st_mode) &&
                              written.st_ino == created.st_ino && written.st_dev == created.st_dev;
            ::fsync(fd);
            ::close(fd);
            if (!same) {
                std::cerr << "cc-inbound: backup: " << backup_path << " was replaced while the backup was written\n";
                return 1;
            }
            std::cout << nlohmann::json{{"backup", backup_path}, {"database", settings.database}}.dump() << std::endl;
            return 0;
        }
        if (domains_cmd->parsed() || keys_cmd->parsed()) {
            if (settings.database_url.empty() && !database_exists(settings.database, domains_cmd->parsed() ? "domains" : "keys")) return 1;
            operator_commands ops(settings);
            auto& k = ops.keys();
            const auto domain_json = [](const auto& d) { return api::to_json(d); };
            const auto key_json = [](const auto& v) { return api::to_json(v); };
            const auto created_json = [](const keys::created_key& c) { return api::to_json(c); };
            if (domains_set->parsed()) return ops.print(k.put_domain(domain, plan, cli_actor), domain_json);
            if (domains_list->parsed()) {
                return ops.print(k.list_domains(), [&](const auto& all) {
                    nlohmann::json list = nlohmann::json::array();
                    for (const auto& d : all) list.push_back(api::to_json(d));
                    return list;
                });
            }
            if (keys_create->parsed()) {
                std::optional<util::millis> expiry;
                if (!expires_at.empty()) {
                    expiry = util::parse_rfc3339(expires_at);
                    if (!expiry) {
                        std::cerr << "error: --expires-at must be an RFC 3339 time\n";
                        return 2;
                    }
                }
                const auto ips = cli_allowed_ips(allowed_ips);
                if (!ips) return 2;
                return ops.print(k.create_key(domain, name, expiry, cli_actor, *ips), created_json);
            }
            if (keys_allow->parsed()) {
                const auto ips = cli_allowed_ips(allowed_ips);
                if (!ips) return 2;
                return ops.print(ops.controls().set_allowed_ips(key_id, *ips, cli_actor), key_json);
            }
            if (keys_list->parsed()) {
                return ops.print(k.list_keys(domain), [](const keys::key_listing& l) { return api::to_json(l); });
            }
            if (keys_revoke->parsed()) return ops.print(k.revoke_key(key_id, cli_actor), key_json);
            if (keys_restore->parsed()) return ops.print(k.restore_key(key_id, cli_actor), key_json);
            if (keys_delete->parsed()) {
                return ops.print(k.delete_key(key_id, cli_actor), [](const auto&) { return nlohmann::json{{"deleted", true}}; });
            }
            if (keys_roll->parsed()) return ops.print(k.roll_key(key_id, grace_seconds * 1000, cli_actor), created_json);
        }
        (void)serve_cmd;
        return serve(settings);
    } catch (const storage::storage_error& e) {
        std::cerr << "cc-inbound: storage: " << e.what() << std::endl;
        return 1;
    }
}

}  // namespace cc::app
