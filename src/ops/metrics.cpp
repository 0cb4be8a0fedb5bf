#include "cc/ops/metrics.hpp"

#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>

namespace cc::ops {
namespace {

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = {}) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
        if (!out.empty()) out += ',';
        out += names[i] + "=\"" + escape_label(values[i]) + "\"";
    }
    if (!extra.empty()) {
        if (!out.empty()) out += ',';
        out += extra;
    }
    return out.empty() ? out : "{" + out + "}";
}

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void gauge(std::string& out, const std::string& name, const std::string& help, double value) {
    header(out, name, help, "gauge");
    out += name + " " + number(value) + "\n";
}

/// @brief Finds or adds the series for `key`: a shared lock on the hot path, a unique one to add.
template <typename Map, typename Key, typename Make>
auto& series_for(std::shared_mutex& mutex, Map& map, const Key& key, Make make) {
    {
        std::shared_lock lock(mutex);
        if (const auto it = map.find(key); it != map.end()) return *it->second;
    }
    std::unique_lock lock(mutex);
    auto& slot = map[std::vector<std::string>(key.begin(), key.end())];
    if (!slot) slot = make();
    return *slot;
}

}  // namespace

counter_family::counter_family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

namespace {

std::int64_t steady_now_ns() {
    // Never 0, which means "never".
    return std::max<std::int64_t>(1, std::chrono::steady_clock::now().time_since_epoch().count());
}

std::optional<std::chrono::steady_clock::time_point> as_time(std::int64_t ns) {
    if (ns == 0) return std::nullopt;
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ns));
}

}  // namespace

std::optional<std::chrono::steady_clock::time_point> counter_family::last_change() const {
    return as_time(last_change_ns_.load(std::memory_order_acquire));
}

std::optional<std::chrono::steady_clock::time_point> histogram_family::last_change() const {
    return as_time(last_change_ns_.load(std::memory_order_acquire));
}

void counter_family::inc(label_list label_values, std::uint64_t by) {
    last_change_ns_.store(steady_now_ns(), std::memory_order_release);
    series_for(mutex_, values_, label_values, [] { return std::make_unique<std::atomic<std::uint64_t>>(0); })
        .fetch_add(by, std::memory_order_relaxed);
}

void counter_family::seed(const std::vector<std::string>& label_values) {
    series_for(mutex_, values_, label_values, [] { return std::make_unique<std::atomic<std::uint64_t>>(0); });
}

std::uint64_t counter_family::value(const std::vector<std::string>& label_values) const {
    std::shared_lock lock(mutex_);
    const auto it = values_.find(label_values);
    return it == values_.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

void counter_family::render(std::string& out) const {
    header(out, name_, help_, "counter");
    std::shared_lock lock(mutex_);
    for (const auto& [key, value] : values_) {
        out += name_ + labels(label_names_, key) + " " + std::to_string(value->load()) + "\n";
    }
}

histogram_family::histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                                   std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), buckets_(std::move(buckets)) {}

void histogram_family::observe(label_list label_values, double value) {
    last_change_ns_.store(steady_now_ns(), std::memory_order_release);
    auto& s = series_for(mutex_, values_, label_values, [this] { return std::make_unique<series>(buckets_.size()); });
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        if (value <= buckets_[i]) {
            s.counts[i].fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    s.count.fetch_add(1, std::memory_order_relaxed);
    double sum = s.sum.load(std::memory_order_relaxed);
    while (!s.sum.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
    }
}

void histogram_family::seed(const std::vector<std::string>& label_values) {
    series_for(mutex_, values_, label_values, [this] { return std::make_unique<series>(buckets_.size()); });
}

std::uint64_t histogram_family::count(const std::vector<std::string>& label_values) const {
    std::shared_lock lock(mutex_);
    const auto it = values_.find(label_values);
    return it == values_.end() ? 0 : it->second->count.load(std::memory_order_relaxed);
}

void histogram_family::render(std::string& out) const {
    header(out, name_, help_, "histogram");
    std::shared_lock lock(mutex_);
    for (const auto& [key, s] : values_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            cumulative += s->counts[i].load();
            out += name_ + "_bucket" + labels(label_names_, key, "le=\"" + number(buckets_[i]) + "\"") + " " +
                   std::to_string(cumulative) + "\n";
        }
        const auto count = s->count.load();
        out += name_ + "_bucket" + labels(label_names_, key, "le=\"+Inf\"") + " " + std::to_string(count) + "\n";
        out += name_ + "_sum" + labels(label_names_, key) + " " + number(s->sum.load()) + "\n";
        out += name_ + "_count" + labels(label_names_, key) + " " + std::to_string(count) + "\n";
    }
}

metrics::metrics()
    : http_requests("cc_http_requests_total", "HTTP requests by route, method and status.", {"route", "method", "status"}),
      http_duration("cc_http_request_duration_seconds", "Time from a complete request to its response.", {"route"},
                    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}),
      events("cc_events_total", "Events received, by outcome.", {"outcome"}),
      auth_failures("cc_auth_failures_total", "Inbound requests refused by authentication, by reason.", {"reason"}),
      rate_limited("cc_rate_limited_total", "Inbound requests refused by the per-key rate limit, by plan.", {"plan"}),
      commit_batch_size("cc_commit_batch_size_events", "Events per group commit.", {},
                        {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}),
      commit_duration("cc_commit_duration_seconds", "Time of one group commit, fsync included.", {},
                      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      commit_failures("cc_commit_failures_total", "Group commits that failed (storage errors).", {}) {
    // Every family has its samples from start-up on: a series that appears only with its
    // first increment is invisible to increase() and rate(), so the first failure would
    // never fire an alert.
    for (const char* outcome : {"accepted", "duplicate", "rejected"}) events.seed({outcome});
    for (const char* reason : auth_failure_reasons) auth_failures.seed({reason});
    for (const char* plan : {"pulse", "signal", "clarity", "command"}) rate_limited.seed({plan});
    commit_batch_size.seed({});
    commit_duration.seed({});
    commit_failures.seed({});
    using namespace std::chrono;
    start_time_seconds = duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

void metrics::seed_route(const std::string& route, const std::string& method) {
    for (const char* status : {"500", "503"}) http_requests.seed({route, method, status});
    http_duration.seed({route});
}

std::string metrics::render() const {
    std::string out;
    out.reserve(8192);
    http_requests.render(out);
    http_duration.render(out);
    events.render(out);
    auth_failures.render(out);
    rate_limited.render(out);
    commit_batch_size.render(out);
    commit_duration.render(out);
    commit_failures.render(out);
    gauge(out, "cc_writer_queue_depth_events", "Events waiting for the group commit.", double(writer_queue_depth.load()));
    gauge(out, "cc_open_connections", "Open client connections.", double(open_connections.load()));
    gauge(out, "cc_key_index_size_keys", "Keys held in the in-memory index.", double(keys_loaded.load()));
    gauge(out, "cc_process_start_time_seconds", "Start time of the process since the Unix epoch.", start_time_seconds);
    header(out, "cc_build_info", "Build information.", "gauge");
    out += "cc_build_info{version=\"" CC_VERSION "\"} 1\n";
    return out;
}

metrics& global_metrics() {
    static metrics instance;
    return instance;
}

}  // namespace cc::ops
