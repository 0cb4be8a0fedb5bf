#include "cc/ops/logger.hpp"

#include <cmath>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cc/util/rfc3339.hpp"

namespace cc::ops {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
    static std::shared_ptr<spdlog::logger> instance = [] {
        auto l = spdlog::stdout_logger_mt("cc");
        l->set_pattern("%v");
        return l;
    }();
    return instance;
}

}  // namespace

void init_logging(const std::string& level) {
    auto& l = logger();
    l->set_level(spdlog::level::from_str(level));
    l->flush_on(spdlog::level::warn);
    // Lines are buffered for speed and written out at least once a second.
    spdlog::flush_every(std::chrono::seconds(1));
}

bool should_log(spdlog::level::level_enum level) {
    return logger()->should_log(level);
}

namespace {

/// @brief Floating-point fields at 3 decimals (a latency of 0.038 ms, not
/// 0.037756000000000005): the noise of binary fractions is no information.
void round_floats(nlohmann::json& value) {
    if (value.is_number_float()) {
        const double v = value.get<double>();
        if (std::isfinite(v)) value = std::round(v * 1000.0) / 1000.0;
    } else if (value.is_structured()) {
        for (auto& item : value) round_floats(item);
    }
}

void write_line(spdlog::level::level_enum level, std::string_view msg, const nlohmann::json& fields) {
    auto& l = logger();
    nlohmann::json line = nlohmann::json::object();
    util::system_clock clock;
    line["time"] = util::format_rfc3339(clock.now_ms());
    line["level"] = spdlog::level::to_string_view(level).data();
    line["msg"] = msg;
    if (fields.is_object()) {
        for (const auto& [k, v] : fields.items()) line[k] = v;
    }
    round_floats(line);
    // Replace invalid UTF-8 rather than throw: a log line must never fail a request.
    l->log(spdlog::source_loc{}, std::max(level, l->level()), "{}",
           line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

void log(spdlog::level::level_enum level, std::string_view msg, const nlohmann::json& fields) {
    if (!logger()->should_log(level)) return;
    write_line(level, msg, fields);
}

void log_lifecycle(std::string_view msg, const nlohmann::json& fields) {
    if (logger()->level() == spdlog::level::off) return;
    write_line(spdlog::level::info, msg, fields);
    logger()->flush();
}

void flush_logs() {
    logger()->flush();
}

}  // namespace cc::ops
