#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cc::events {

/// @brief Why a text is or is not an acceptable decimal; lets callers word problems apart.
enum class decimal_status {
    ok,            ///< a non-negative number within range
    not_a_number,  ///< not number syntax at all (empty, NaN, Infinity, hex, `+1`, `1,5`...)
    negative,      ///< well-formed but below zero
    too_large,     ///< more than 18 digits before the decimal point
    too_precise,   ///< more than 18 significant digits after the decimal point
};

/// @brief The outcome of parse_decimal: a status and, when ok, the canonical text.
struct decimal_result {
    decimal_status status = decimal_status::not_a_number;
    std::string text;  ///< canonical plain decimal; empty unless status is ok

    bool ok() const noexcept { return status == decimal_status::ok; }
};

/// @brief Largest number of integer digits, and of fraction digits, a decimal may have.
inline constexpr std::size_t max_decimal_digits = 18;

/// @brief Parses JSON-number-like text (`99.99`, `100`, `1e3`, `1.5E-2`, `-0`) into its
/// canonical plain form (`1e3` -> `1000`, `1.50` -> `1.5`, `-0` -> `0`) by moving digits,
/// never through a double, so the stored value is exactly what was sent.
///
/// Accepted: an optional `-`, digits with at most one `.` (leading zeros and a bare `.5`
/// or `5.` are tolerated, since spreadsheets and Zapier send them), an optional exponent.
/// Not accepted: a leading `+`, surrounding whitespace (the caller trims), NaN, Infinity,
/// hex, thousands separators.
decimal_result parse_decimal(std::string_view text);

/// @brief parse_decimal's canonical text, or nullopt for anything that is not ok.
std::optional<std::string> normalize_decimal(std::string_view text);

/// @brief A canonical decimal as a double, for display and metrics only; 0 if unreadable.
double decimal_to_double(std::string_view canonical);

}  // namespace cc::events
