#include "cc/ops/logger.hpp"

#include <cmath>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <thread>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "cc/util/rfc3339.hpp"

namespace cc::ops {
namespace {

/// @brief Standard output through a 64 KiB stdio buffer, written out at most 100 ms
/// after a line was added (by its own thread), when the buffer fills, and at once for
/// warnings and lifecycle lines (flush). spdlog's own stdout sink flushes after every
/// line: one write system call per request.
class buffered_stdout_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    buffered_stdout_sink() {
        static char buffer[64 * 1024];
        std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
        flusher_ = std::jthread([this](std::stop_token stop) {
            std::mutex m;
            std::condition_variable_any wake;
            std::unique_lock lock(m);
            while (!stop.stop_requested()) {
                wake.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
                if (pending_.exchange(false)) flush();
            }
        });
    }
    ~buffered_stdout_sink() override {
        flusher_.request_stop();
        flusher_.join();
        std::fflush(stdout);
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        std::fwrite(line.data(), 1, line.size(), stdout);
        pending_.store(true, std::memory_order_relaxed);
    }
    void flush_() override { std::fflush(stdout); }

private:
    std::atomic<bool> pending_{false};
    std::jthread flusher_;  // last: stopped before the rest goes
};

std::shared_ptr<spdlog::logger>& logger() {
    static std::shared_ptr<spdlog::logger> instance = [] {
        auto l = std::make_shared<spdlog::logger>("cc", std::make_shared<buffered_stdout_sink>());
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

namespace {

/// @brief The current time as RFC 3339 with milliseconds; the date and clock part is
/// formatted once a second per thread, not on every line.
void append_now(std::string& out) {
    thread_local std::int64_t cached_second = -1;
    thread_local std::string cached;  // "YYYY-MM-DDTHH:MM:SS."
    const auto now = util::system_clock{}.now_ms();
    const auto second = now >= 0 ? now / 1000 : (now - 999) / 1000;
    if (second != cached_second) {
        const auto text = util::format_rfc3339(second * 1000);
        cached = text.substr(0, text.size() - 4);  // drop "000Z"
        cached_second = second;
    }
    const auto ms = static_cast<int>(now - second * 1000);
    out += cached;
    out += static_cast<char>('0' + ms / 100);
    out += static_cast<char>('0' + ms / 10 % 10);
    out += static_cast<char>('0' + ms % 10);
    out += 'Z';
}

}  // namespace

log_line::log_line(spdlog::level::level_enum level, std::string_view msg) : level_(level), writer_(text_) {
    text_.reserve(320);
    append_now(writer_.begin("time") += '"');
    text_ += '"';
    const auto name = spdlog::level::to_string_view(level_);
    writer_.string("level", std::string_view(name.data(), name.size()));
    writer_.string("msg", msg);
}

void log_line::write() {
    writer_.close();
    auto& l = logger();
    l->log(std::max(level_, l->level()), spdlog::string_view_t(text_.data(), text_.size()));
}

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
