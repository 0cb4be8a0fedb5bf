#pragma once
#include <optional>
#include <string>
#include <vector>

#include "cc/util/clock.hpp"
#include "cc/util/failure.hpp"

namespace cc::events {

using util::field_problem;

/// @brief A conversion event after validation and normalization, ready to store.
struct event {
    std::optional<std::string> event_id;      ///< the client's idempotency key; assigned later when absent
    std::string name;                         ///< the `event` field, trimmed
    std::optional<std::string> email;         ///< trimmed, lower-cased; absent when sent pre-hashed
    std::optional<std::string> email_sha256;  ///< lower-case hex
    std::optional<std::string> phone;         ///< E.164 (`+` and 7-15 digits); absent when sent pre-hashed
    std::optional<std::string> phone_sha256;  ///< lower-case hex of the E.164 form
    std::optional<std::string> external_id;
    std::optional<std::string> click_id;
    std::optional<std::string> value;         ///< exact decimal text, e.g. "99.99"; never via a double
    std::optional<std::string> currency;      ///< ISO 4217, upper-case
    util::millis occurred_at = 0;             ///< `timestamp`, or the time of receipt
    std::optional<std::string> properties;    ///< the serialized JSON object
    std::string raw;                          ///< the event as received (JSON text or form body)
};

/// @brief The outcome of validating one event: an event, or the list of problems.
struct validation_result {
    std::optional<event> value;
    std::vector<field_problem> problems;

    bool ok() const noexcept { return value.has_value(); }
};

}  // namespace cc::events
