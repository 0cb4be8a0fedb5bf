#include "cc/config/config.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

#include "support/temp_dir.hpp"

using namespace cc::config;
namespace fs = std::filesystem;

namespace {

using cc::testing::temp_dir;

/// Loads and returns the config_error's message; fails the test if nothing is thrown.
std::string load_error(const sources& from) {
    try {
        load(from);
    } catch (const config_error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a config_error";
    return {};
}

sources env(std::string name, std::string value) {
    sources s;
    s.environment[std::move(name)] = std::move(value);
    return s;
}

}  // namespace

TEST(ConfigDefaults, ListenOnLoopback8080WithLocalSqlite) {
    const auto s = load({});
    EXPECT_EQ(s.listen, "127.0.0.1:8080");
    EXPECT_EQ(s.database, "data/cc-inbound.db");
    EXPECT_TRUE(s.admin_tokens.empty());
    EXPECT_GE(s.threads, 1);  // 0 means "number of cores", resolved at load
    EXPECT_EQ(s.log_level, "info");
    EXPECT_TRUE(s.tls_cert_file.empty());
}

TEST(ConfigSources, FileOverridesDefaults) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"listen": "10.0.0.1:1000", "database": "/tmp/file.db"})");
    const auto s = load(from);
    EXPECT_EQ(s.listen, "10.0.0.1:1000");
    EXPECT_EQ(s.database, "/tmp/file.db");
}

TEST(ConfigSources, EnvironmentOverridesFile) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"listen": "10.0.0.1:1000", "database": "/tmp/file.db"})");
    from.environment["CC_LISTEN"] = "10.0.0.2:2000";
    const auto s = load(from);
    EXPECT_EQ(s.listen, "10.0.0.2:2000");
    EXPECT_EQ(s.database, "/tmp/file.db");  // untouched by the environment
}

TEST(ConfigSources, FlagsOverrideEnvironmentAndFile) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"listen": "10.0.0.1:1000", "header_timeout_ms": 111})");
    from.environment["CC_LISTEN"] = "10.0.0.2:2000";
    from.environment["CC_HEADER_TIMEOUT_MS"] = "222";
    from.flags["listen"] = "10.0.0.3:3000";
    const auto s = load(from);
    EXPECT_EQ(s.listen, "10.0.0.3:3000");
    EXPECT_EQ(s.header_timeout_ms, 222);
}

TEST(ConfigSources, FixedEnvironmentVariablesAreRead) {
    sources from;
    from.environment["CC_LISTEN"] = "0.0.0.0:9999";
    from.environment["CC_DATABASE"] = "/var/lib/cc/x.db";
    from.environment["CC_ADMIN_TOKEN"] = "tok-0123456789abcdef0123456789abcdef";
    const auto s = load(from);
    EXPECT_EQ(s.listen, "0.0.0.0:9999");
    EXPECT_EQ(s.database, "/var/lib/cc/x.db");
    ASSERT_EQ(s.admin_tokens.size(), 1u);
    EXPECT_EQ(s.admin_tokens[0], "tok-0123456789abcdef0123456789abcdef");
}

TEST(ConfigSources, OtherEnvironmentVariablesAreIgnored) {
    sources from;
    from.environment["LISTEN"] = "bogus";
    from.environment["CC_NOT_A_SETTING"] = "whatever";
    EXPECT_EQ(load(from).listen, "127.0.0.1:8080");
}

TEST(ConfigSources, ProcessEnvironmentKeepsOnlyCcVariables) {
    ASSERT_EQ(::setenv("CC_UNIT_CONFIG_PROBE", "a=b", 1), 0);
    ASSERT_EQ(::setenv("XCC_UNIT_CONFIG_PROBE", "no", 1), 0);
    const auto e = process_environment();
    ::unsetenv("CC_UNIT_CONFIG_PROBE");
    ::unsetenv("XCC_UNIT_CONFIG_PROBE");
    ASSERT_TRUE(e.contains("CC_UNIT_CONFIG_PROBE"));
    EXPECT_EQ(e.at("CC_UNIT_CONFIG_PROBE"), "a=b");
    EXPECT_FALSE(e.contains("XCC_UNIT_CONFIG_PROBE"));
    for (const auto& [name, value] : e) EXPECT_TRUE(name.starts_with("CC_")) << name;
}

TEST(ConfigSettings, EverySettingHasEnvAndFlagDerivedFromItsName) {
    const auto& all = all_settings();
    ASSERT_FALSE(all.empty());
    std::set<std::string> names;
    for (const auto& info : all) {
        std::string env = "CC_";
        std::string flag = "--";
        for (char c : info.name) {
            env.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
            flag.push_back(c == '_' ? '-' : c);
        }
        EXPECT_EQ(info.env, env) << info.name;
        EXPECT_EQ(info.flag, flag) << info.name;
        EXPECT_FALSE(info.help.empty()) << info.name;
        EXPECT_TRUE(names.insert(info.name).second) << "duplicate " << info.name;
    }
    for (const char* fixed : {"listen", "database", "admin_token"}) {
        EXPECT_TRUE(names.contains(fixed)) << fixed;
    }
}

TEST(ConfigSettings, EverySettingIsReadFromItsEnvironmentVariableAndFlag) {
    // An unparseable or checked value must be attributed to the setting by env and by flag;
    // a free-text one must at least be accepted. Either way the variable is recognized.
    for (const auto& info : all_settings()) {
        for (const bool by_flag : {false, true}) {
            sources from;
            if (by_flag) {
                from.flags[info.name] = "#";
            } else {
                from.environment[info.env] = "#";
            }
            try {
                load(from);
            } catch (const config_error& e) {
                const std::string what = e.what();
                // tls_* alone fails the pairing check, which names tls_cert_file.
                if (!info.name.starts_with("tls_")) {
                    EXPECT_NE(what.find(info.name), std::string::npos) << what;
                }
            }
        }
    }
}

TEST(ConfigErrors, BadNumberNamesTheSetting) {
    const auto what = load_error(env("CC_HEADER_TIMEOUT_MS", "abc"));
    EXPECT_NE(what.find("header_timeout_ms"), std::string::npos) << what;
}

TEST(ConfigErrors, NumberOutOfRangeNamesTheSetting) {
    const auto what = load_error(env("CC_HEADER_TIMEOUT_MS", "0"));
    EXPECT_NE(what.find("header_timeout_ms"), std::string::npos) << what;
    EXPECT_NE(load_error(env("CC_HEADER_TIMEOUT_MS", "12x")).find("header_timeout_ms"), std::string::npos);
}

TEST(ConfigErrors, ListenWithoutPortNamesTheSetting) {
    for (const char* bad : {"localhost", "127.0.0.1", ":8080", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"}) {
        const auto what = load_error(env("CC_LISTEN", bad));
        EXPECT_NE(what.find("listen"), std::string::npos) << bad << ": " << what;
    }
}

TEST(ConfigErrors, UnknownSettingInFileIsNamed) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"listen": "127.0.0.1:1", "lissten": "x"})");
    const auto what = load_error(from);
    EXPECT_NE(what.find("lissten"), std::string::npos) << what;
}

TEST(ConfigErrors, UnknownFlagIsRefused) {
    sources from;
    from.flags["no_such_setting"] = "1";
    const auto what = load_error(from);
    EXPECT_NE(what.find("no_such_setting"), std::string::npos) << what;
}

TEST(ConfigErrors, MalformedJsonFileIsRefused) {
    temp_dir dir;
    sources from;
    from.file = dir.write("broken.json", R"({"listen": "127.0.0.1:1",)");
    const auto what = load_error(from);
    EXPECT_NE(what.find("broken.json"), std::string::npos) << what;
}

TEST(ConfigErrors, NonObjectJsonFileIsRefused) {
    temp_dir dir;
    sources from;
    from.file = dir.write("array.json", R"(["listen"])");
    EXPECT_THROW(load(from), config_error);
}

TEST(ConfigErrors, MissingFileIsRefused) {
    temp_dir dir;
    sources from;
    from.file = dir.write("x.json", "{}") + ".missing";
    EXPECT_THROW(load(from), config_error);
}

TEST(ConfigErrors, BadValueInFileNamesTheSetting) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"idle_timeout_ms": "soon"})");
    const auto what = load_error(from);
    EXPECT_NE(what.find("idle_timeout_ms"), std::string::npos) << what;
}

TEST(ConfigErrors, BadRateLimitNamesTheSetting) {
    for (const char* bad : {"x:y", "10", "10:", ":20", "0:20", "10:0", "-1:5", "10:20:30"}) {
        const auto what = load_error(env("CC_RATE_LIMIT_PULSE", bad));
        EXPECT_NE(what.find("rate_limit_pulse"), std::string::npos) << bad << ": " << what;
    }
}

TEST(ConfigErrors, UnknownLogLevelNamesTheSetting) {
    const auto what = load_error(env("CC_LOG_LEVEL", "loud"));
    EXPECT_NE(what.find("log_level"), std::string::npos) << what;
}

TEST(ConfigErrors, TlsCertWithoutKeyIsRefused) {
    const auto what = load_error(env("CC_TLS_CERT_FILE", "/etc/cert.pem"));
    EXPECT_NE(what.find("tls_cert_file"), std::string::npos) << what;
}

TEST(ConfigErrors, TlsKeyWithoutCertIsRefused) {
    const auto what = load_error(env("CC_TLS_KEY_FILE", "/etc/key.pem"));
    EXPECT_NE(what.find("tls_"), std::string::npos) << what;
}

TEST(ConfigTls, CertAndKeyTogetherAreAccepted) {
    sources from;
    from.environment["CC_TLS_CERT_FILE"] = "/etc/cert.pem";
    from.environment["CC_TLS_KEY_FILE"] = "/etc/key.pem";
    const auto s = load(from);
    EXPECT_EQ(s.tls_cert_file, "/etc/cert.pem");
    EXPECT_EQ(s.tls_key_file, "/etc/key.pem");
}

TEST(ConfigLists, SplitOnCommasAndTrimmed) {
    sources from;
    from.environment["CC_CORS_ORIGINS"] = "https://a.example, https://b.example ,,https://c.example";
    from.environment["CC_ADMIN_TOKEN"] = "one-0123456789abcdef0123456789abcdef,two-0123456789abcdef0123456789abcdef";
    const auto s = load(from);
    EXPECT_EQ(s.cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example", "https://c.example"}));
    EXPECT_EQ(s.admin_tokens, (std::vector<std::string>{"one-0123456789abcdef0123456789abcdef", "two-0123456789abcdef0123456789abcdef"}));
}

TEST(ConfigLists, JsonArraysAreAccepted) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"admin_tokens": ["one-0123456789abcdef0123456789abcdef", "two-0123456789abcdef0123456789abcdef"], "trusted_proxies": ["10.0.0.1"]})");
    const auto s = load(from);
    EXPECT_EQ(s.admin_tokens, (std::vector<std::string>{"one-0123456789abcdef0123456789abcdef", "two-0123456789abcdef0123456789abcdef"}));
    EXPECT_EQ(s.trusted_proxies, (std::vector<std::string>{"10.0.0.1"}));
}

TEST(ConfigRateLimit, PerSecondColonBurstIsParsed) {
    const auto s = load(env("CC_RATE_LIMIT_SIGNAL", "10:20"));
    EXPECT_DOUBLE_EQ(s.rate_limits.at("signal").per_second, 10);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("signal").burst, 20);
    // Other plans keep their defaults.
    EXPECT_DOUBLE_EQ(s.rate_limits.at("pulse").per_second, settings{}.rate_limits.at("pulse").per_second);
}

TEST(ConfigRateLimit, FractionalRateIsParsed) {
    const auto s = load(env("CC_RATE_LIMIT_COMMAND", "0.5:3"));
    EXPECT_DOUBLE_EQ(s.rate_limits.at("command").per_second, 0.5);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("command").burst, 3);
}

TEST(ConfigFile, RateLimitObjectsAndCommentKeys) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({
        "_comment": "documentation, not a setting",
        "_note": {"anything": [1, 2, 3]},
        "rate_limit_pulse": {"per_second": 7, "burst": 9},
        "rate_limit_clarity": {"per_second": 2.5, "burst": 4},
        "header_timeout_ms": 1234,
        "log_level": "warn"
    })");
    const auto s = load(from);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("pulse").per_second, 7);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("pulse").burst, 9);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("clarity").per_second, 2.5);
    EXPECT_DOUBLE_EQ(s.rate_limits.at("clarity").burst, 4);
    EXPECT_EQ(s.header_timeout_ms, 1234);
    EXPECT_EQ(s.log_level, "warn");
}

TEST(ConfigFile, RateLimitObjectWithBadBurstNamesTheSetting) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"rate_limit_signal": {"per_second": 5, "burst": 0}})");
    const auto what = load_error(from);
    EXPECT_NE(what.find("rate_limit_signal"), std::string::npos) << what;
}

TEST(ConfigFile, ObjectWithoutRateFieldsIsRefused) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"rate_limit_signal": {"rate": 5}})");
    const auto what = load_error(from);
    EXPECT_NE(what.find("rate_limit_signal"), std::string::npos) << what;
}

// --- secrets: length, files, never quoted

namespace {
const std::string long_token = "0123456789abcdef0123456789abcdef-secret";
}

TEST(ConfigAdminToken, ShorterThan32CharactersIsRefusedWithoutQuotingIt) {
    const auto message = load_error(env("CC_ADMIN_TOKEN", "S3cret-short"));
    EXPECT_NE(message.find("admin_token"), std::string::npos) << message;
    EXPECT_NE(message.find("32"), std::string::npos) << message;
    EXPECT_EQ(message.find("S3cret"), std::string::npos) << message;
}

TEST(ConfigAdminToken, ShortPieceOfACommaListIsRefused) {
    load_error(env("CC_ADMIN_TOKEN", long_token + ",ab"));
}

TEST(ConfigAdminToken, ThirtyTwoCharactersAreEnough) {
    const auto s = load(env("CC_ADMIN_TOKEN", std::string(32, 'k')));
    ASSERT_EQ(s.admin_tokens.size(), 1u);
}

TEST(ConfigSecretFiles, AdminTokenFileIsReadWithoutItsFinalNewline) {
    temp_dir dir;
    const auto path = dir.write("token", long_token + "\n");
    const auto s = load(env("CC_ADMIN_TOKEN_FILE", path));
    EXPECT_EQ(s.admin_tokens, (std::vector<std::string>{long_token}));
}

TEST(ConfigSecretFiles, EverySecretSettingHasAFileVariant) {
    std::set<std::string> names;
    for (const auto& info : all_settings()) names.insert(info.name);
    int secrets = 0;
    for (const auto& info : all_settings()) {
        if (!is_secret_setting(info.name)) continue;
        ++secrets;
        EXPECT_TRUE(names.contains(info.name + "_file")) << info.name;
    }
    EXPECT_GE(secrets, 2);  // admin_token and admin_tokens at least
    for (const auto& info : all_settings()) {
        if (info.name == "admin_token_file") {
            EXPECT_EQ(info.env, "CC_ADMIN_TOKEN_FILE");
            EXPECT_EQ(info.flag, "--admin-token-file");
        }
    }
}

TEST(ConfigSecretFiles, FileAndValueTogetherAreRefused) {
    temp_dir dir;
    auto from = env("CC_ADMIN_TOKEN", long_token);
    from.environment["CC_ADMIN_TOKEN_FILE"] = dir.write("token", long_token);
    const auto message = load_error(from);
    EXPECT_NE(message.find("not both"), std::string::npos) << message;
}

TEST(ConfigSecretFiles, MissingOrShortTokenFileNamesThePathNotTheContent) {
    temp_dir dir;
    EXPECT_NE(load_error(env("CC_ADMIN_TOKEN_FILE", dir.file("absent"))).find("absent"), std::string::npos);
    const auto message = load_error(env("CC_ADMIN_TOKEN_FILE", dir.write("token", "S3cret-short\n")));
    EXPECT_EQ(message.find("S3cret"), std::string::npos) << message;
}

TEST(ConfigSecretFiles, TokenFileFromTheConfigFileAndTheFlag) {
    temp_dir dir;
    const auto token_path = dir.write("token", long_token);
    sources from;
    from.file = dir.write("c.json", R"({"admin_token_file": ")" + token_path + R"("})");
    EXPECT_EQ(load(from).admin_tokens, (std::vector<std::string>{long_token}));
    sources flags;
    flags.flags["admin_token_file"] = token_path;
    const auto s = load(flags);
    EXPECT_EQ(s.admin_tokens, (std::vector<std::string>{long_token}));
    EXPECT_TRUE(s.warnings.empty());
}

TEST(ConfigSecretFiles, TokenOnTheCommandLineIsWarnedAbout) {
    sources from;
    from.flags["admin_token"] = long_token;
    const auto s = load(from);
    ASSERT_EQ(s.warnings.size(), 1u);
    EXPECT_NE(s.warnings[0].find("--admin-token"), std::string::npos) << s.warnings[0];
    EXPECT_NE(s.warnings[0].find("CC_ADMIN_TOKEN_FILE"), std::string::npos) << s.warnings[0];
    EXPECT_EQ(s.warnings[0].find(long_token), std::string::npos);
}

TEST(ConfigFile, SyntaxErrorGivesThePositionNeverTheText) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", "{\n  \"listen\": \"127.0.0.1:1\",\n  \"admin_token\": \"S3cretValue\n}");
    const auto message = load_error(from);
    EXPECT_NE(message.find("line 3"), std::string::npos) << message;
    EXPECT_EQ(message.find("S3cret"), std::string::npos) << message;
    EXPECT_EQ(message.find("last read"), std::string::npos) << message;
}

TEST(ConfigFile, UnsupportedValueIsNotQuoted) {
    temp_dir dir;
    sources from;
    from.file = dir.write("c.json", R"({"admin_token": {"S3cretValue": 1}})");
    const auto message = load_error(from);
    EXPECT_EQ(message.find("S3cret"), std::string::npos) << message;
}

TEST(ConfigLogLevel, WarningAsLogLinesSpellItIsAccepted) {
    EXPECT_EQ(load(env("CC_LOG_LEVEL", "warning")).log_level, "warning");
    EXPECT_EQ(load(env("CC_LOG_LEVEL", "warn")).log_level, "warn");
    load_error(env("CC_LOG_LEVEL", "loud"));
}

TEST(ConfigEnvironment, SecretVariablesAreWipedAndUnset) {
    const std::string value = long_token;
    ::setenv("CC_ADMIN_TOKEN", value.c_str(), 1);
    ::setenv("CC_LOG_LEVEL_UNRELATED_TEST", "kept", 1);
    char* stored = ::getenv("CC_ADMIN_TOKEN");
    ASSERT_NE(stored, nullptr);
    scrub_secret_environment();
    EXPECT_EQ(::getenv("CC_ADMIN_TOKEN"), nullptr);
    EXPECT_STREQ(::getenv("CC_LOG_LEVEL_UNRELATED_TEST"), "kept");
    ::unsetenv("CC_LOG_LEVEL_UNRELATED_TEST");
}
