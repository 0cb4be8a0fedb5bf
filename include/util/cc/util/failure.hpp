#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cc::util {

/// @brief The contract's error codes. A new code is added here and in describe(): the
/// switch there has no default, so the compiler refuses a code without text and status.
enum class error_code {
    invalid_json,
    validation_failed,
    bad_request,
    missing_api_key,
    invalid_api_key,
    revoked_api_key,
    expired_api_key,
    unauthorized,
    invalid_signature,
    domain_mismatch,
    ip_not_allowed,
    browser_request_refused,
    origin_not_allowed,
    not_found,
    domain_not_found,
    key_not_found,
    event_not_found,
    method_not_allowed,
    request_timeout,
    plan_limit_reached,
    domain_has_keys,
    key_already_rolled,
    key_not_active,
    payload_too_large,
    unsupported_media_type,
    rate_limited,
    request_header_fields_too_large,
    internal_error,
    not_implemented,
    unavailable,
    http_version_not_supported,
};

/// @brief What the contract says of one error code: its wire text, its HTTP status, and
/// the message used where the failure does not say more.
struct error_info {
    std::string_view text;
    int http_status;
    std::string_view message;
};

/// @brief The one table of error codes.
constexpr error_info describe(error_code code) noexcept {
    using c = error_code;
    switch (code) {
        case c::invalid_json: return {"invalid_json", 400, "The body is not valid JSON."};
        case c::validation_failed: return {"validation_failed", 400, "The request has invalid fields."};
        case c::bad_request: return {"bad_request", 400, "The request is not valid."};
        case c::missing_api_key: return {"missing_api_key", 401, "The X-CC-Api-Key header is required."};
        case c::invalid_api_key: return {"invalid_api_key", 401, "The API key is not valid."};
        case c::revoked_api_key: return {"revoked_api_key", 401, "The API key has been revoked."};
        case c::expired_api_key: return {"expired_api_key", 401, "The API key has expired."};
        case c::unauthorized: return {"unauthorized", 401, "A valid admin token is required."};
        case c::invalid_signature: return {"invalid_signature", 401, "The signature is not valid."};
        case c::domain_mismatch: return {"domain_mismatch", 403, "The API key belongs to another domain."};
        case c::ip_not_allowed: return {"ip_not_allowed", 403, "This address is not in the key's allowed IPs."};
        case c::browser_request_refused: return {"browser_request_refused", 403, "Requests from a web browser are refused."};
        case c::origin_not_allowed: return {"origin_not_allowed", 403, "This origin may not call the admin API."};
        case c::not_found: return {"not_found", 404, "Not found."};
        case c::domain_not_found: return {"domain_not_found", 404, "The domain is not registered."};
        case c::key_not_found: return {"key_not_found", 404, "No key has this id."};
        case c::event_not_found: return {"event_not_found", 404, "No stored event has this event_id."};
        case c::method_not_allowed: return {"method_not_allowed", 405, "The method is not allowed here."};
        case c::request_timeout: return {"request_timeout", 408, "The request was not received in time."};
        case c::plan_limit_reached: return {"plan_limit_reached", 409, "The plan's key limit is reached."};
        case c::domain_has_keys: return {"domain_has_keys", 409, "The domain still has keys."};
        case c::key_already_rolled: return {"key_already_rolled", 409, "The key has already been rolled."};
        case c::key_not_active: return {"key_not_active", 409, "Only an active key can be rolled."};
        case c::payload_too_large: return {"payload_too_large", 413, "The body exceeds this endpoint's limit."};
        case c::unsupported_media_type: return {"unsupported_media_type", 415, "Send Content-Type: application/json."};
        case c::rate_limited: return {"rate_limited", 429, "Too many requests; retry later."};
        case c::request_header_fields_too_large:
            return {"request_header_fields_too_large", 431, "The request headers are too large."};
        case c::internal_error: return {"internal_error", 500, "An unexpected error occurred."};
        case c::not_implemented: return {"not_implemented", 501, "Not implemented."};
        case c::unavailable: return {"unavailable", 503, "Storage is unavailable; retry shortly."};
        case c::http_version_not_supported:
            return {"http_version_not_supported", 505, "Only HTTP/1.0 and HTTP/1.1 are served."};
    }
    return {"internal_error", 500, "An unexpected error occurred."};  // not a value of the enum
}

/// @brief The code as it appears on the wire, in logs and in the rejection log.
constexpr std::string_view to_text(error_code code) noexcept { return describe(code).text; }

/// @brief The HTTP status of a code.
constexpr int http_status(error_code code) noexcept { return describe(code).http_status; }

/// @brief One rule broken by one field; becomes an entry of the error's `details`.
struct field_problem {
    std::string field;
    std::string problem;
};

/// @brief Why a domain operation was refused, in the SPEC's terms; the HTTP layer takes
/// the status from the code's table entry.
struct failure {
    error_code code = error_code::internal_error;
    std::string message{};
    std::vector<field_problem> details{};
    std::optional<int> retry_after_seconds{};  ///< when trying again later can succeed

    /// @brief A failure with the code's default message.
    static failure of(error_code code) { return {code, std::string(describe(code).message), {}, {}}; }
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
inline failure validation_failure(std::vector<field_problem> details) {
    return {error_code::validation_failed, std::string(describe(error_code::validation_failed).message),
            std::move(details), {}};
}

}  // namespace cc::util
