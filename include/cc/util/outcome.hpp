#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cc/events/event.hpp"

namespace cc::util {

/// @brief Why a domain operation was refused, in the SPEC's terms: `code` is the
/// contract's error code (e.g. "plan_limit_reached"); the HTTP layer picks the status.
struct failure {
    std::string code{};
    std::string message{};
    std::vector<events::field_problem> details{};
    std::optional<int> retry_after_seconds{};  ///< when trying again later can succeed
};

/// @brief A value or the failure that prevented it.
template <typename T>
class outcome {
public:
    outcome(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
    outcome(failure f) : data_(std::move(f)) {}    // NOLINT

    bool ok() const noexcept { return std::holds_alternative<T>(data_); }
    T& value() { return std::get<T>(data_); }
    const T& value() const { return std::get<T>(data_); }
    const failure& error() const { return std::get<failure>(data_); }

private:
    std::variant<T, failure> data_;
};

/// @brief The outcome of an operation that returns nothing.
struct done {};

/// @brief A validation failure with one entry per bad field.
inline failure validation_failure(std::vector<events::field_problem> details) {
    return {"validation_failed", "The request has invalid fields.", std::move(details)};
}

}  // namespace cc::util
