#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cc::ops {

/// @brief Orders label sets, and finds a stored one from string views, so that counting
/// a request allocates nothing once its series exists.
struct label_values_less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
            return std::string_view(x) < std::string_view(y);
        });
    }
};

/// @brief Label values as the hot paths pass them: `{route, method, status}`.
using label_list = std::initializer_list<std::string_view>;

/// @brief Counters keyed by a small, bounded set of label values (never a domain or key).
class counter_family {
public:
    counter_family(std::string name, std::string help, std::vector<std::string> label_names);
    void inc(label_list label_values, std::uint64_t by = 1);
    /// @brief Creates the series at 0 if it does not exist yet, so that it is exported
    /// from start-up on and `increase()` sees its first increment.
    void seed(const std::vector<std::string>& label_values);
    /// @brief The current value of one series (0 when it does not exist).
    std::uint64_t value(const std::vector<std::string>& label_values) const;
    /// @brief When the family was last incremented (steady clock), if ever.
    std::optional<std::chrono::steady_clock::time_point> last_change() const;
    void render(std::string& out) const;

private:
    std::atomic<std::int64_t> last_change_ns_{0};  ///< steady-clock ns of the last inc; 0: never
    std::string name_, help_;
    std::vector<std::string> label_names_;
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<std::atomic<std::uint64_t>>, label_values_less> values_;
};

/// @brief A histogram per label set, with fixed buckets.
class histogram_family {
public:
    histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> buckets);
    void observe(label_list label_values, double value);
    /// @brief Creates the series with empty buckets if it does not exist yet.
    void seed(const std::vector<std::string>& label_values);
    /// @brief The number of observations of one series (0 when it does not exist).
    std::uint64_t count(const std::vector<std::string>& label_values) const;
    /// @brief When the family last observed a value (steady clock), if ever.
    std::optional<std::chrono::steady_clock::time_point> last_change() const;
    void render(std::string& out) const;

private:
    struct series {
        explicit series(std::size_t buckets) : counts(buckets) {}
        std::vector<std::atomic<std::uint64_t>> counts;  // one per bucket, not cumulative
        std::atomic<std::uint64_t> count{0};
        std::atomic<double> sum{0};
    };
    std::atomic<std::int64_t> last_change_ns_{0};
    std::string name_, help_;
    std::vector<std::string> label_names_;
    std::vector<double> buckets_;
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<series>, label_values_less> values_;
};

/// @brief Every `reason` of cc_auth_failures_total (the 401/403 codes of SPEC §2),
/// exported at 0 from start-up on.
inline constexpr std::array<const char*, 7> auth_failure_reasons = {
    "missing_api_key", "invalid_api_key", "revoked_api_key", "expired_api_key",
    "domain_mismatch", "ip_not_allowed",  "browser_request_refused"};

/// @brief Every metric the service exports at GET /metrics (Prometheus text format).
class metrics {
public:
    metrics();

    counter_family http_requests;        ///< route, method, status
    histogram_family http_duration;      ///< route
    counter_family events;               ///< outcome: accepted, duplicate, rejected
    counter_family auth_failures;        ///< reason
    counter_family rate_limited;         ///< plan
    histogram_family commit_batch_size;
    histogram_family commit_duration;
    counter_family commit_failures;
    std::atomic<std::int64_t> writer_queue_depth{0};
    std::atomic<std::int64_t> open_connections{0};
    std::atomic<std::int64_t> keys_loaded{0};
    double start_time_seconds = 0;

    /// @brief Exports the request counter and latency histogram of one route from
    /// start-up on (the counter for the 5xx statuses an alert watches).
    void seed_route(const std::string& route, const std::string& method);

    /// @brief The exposition text.
    std::string render() const;
};

/// @brief The process-wide metrics.
metrics& global_metrics();

}  // namespace cc::ops
