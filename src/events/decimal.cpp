#include "cc/events/decimal.hpp"

#include <charconv>
#include <cstdint>

namespace cc::events {

namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Past this an exponent cannot matter: any non-zero mantissa is out of range either way,
// and saturating keeps the position arithmetic far from overflow.
constexpr std::int64_t exponent_cap = 1'000'000;

// The pieces of a syntactically valid number, as views into the input.
struct number_parts {
    bool negative = false;
    std::string_view int_digits;
    std::string_view frac_digits;
    std::int64_t exponent = 0;
};

// Splits `text` by the accepted grammar; false when it is not a number.
bool split_number(std::string_view text, number_parts& parts) noexcept {
    std::size_t pos = 0;
    if (pos < text.size() && text[pos] == '-') {
        parts.negative = true;
        ++pos;
    }
    const std::size_t int_start = pos;
    while (pos < text.size() && is_digit(text[pos])) {
        ++pos;
    }
    parts.int_digits = text.substr(int_start, pos - int_start);
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t frac_start = pos;
        while (pos < text.size() && is_digit(text[pos])) {
            ++pos;
        }
        parts.frac_digits = text.substr(frac_start, pos - frac_start);
    }
    if (parts.int_digits.empty() && parts.frac_digits.empty()) {
        return false;  // "", "-", ".", "e5", "NaN", "Infinity", "+1"...
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        bool exp_negative = false;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            exp_negative = text[pos] == '-';
            ++pos;
        }
        const std::size_t exp_start = pos;
        std::int64_t exponent = 0;
        while (pos < text.size() && is_digit(text[pos])) {
            if (exponent < exponent_cap) {
                exponent = exponent * 10 + (text[pos] - '0');
            }
            ++pos;
        }
        if (pos == exp_start) {
            return false;
        }
        parts.exponent = exp_negative ? -exponent : exponent;
    }
    return pos == text.size();
}

}  // namespace

decimal_result parse_decimal(std::string_view text) {
    number_parts parts;
    if (!split_number(text, parts)) {
        return {decimal_status::not_a_number, {}};
    }

    // The value is 0.D x 10^point, with D the digits without their point. Strip the
    // insignificant zeros from both ends of D; leading ones move the point left.
    std::string_view int_digits = parts.int_digits;
    std::string_view frac_digits = parts.frac_digits;
    std::int64_t point = static_cast<std::int64_t>(int_digits.size()) + parts.exponent;
    while (!int_digits.empty() && int_digits.front() == '0') {
        int_digits.remove_prefix(1);
        --point;
    }
    if (int_digits.empty()) {
        while (!frac_digits.empty() && frac_digits.front() == '0') {
            frac_digits.remove_prefix(1);
            --point;
        }
    }
    if (frac_digits.empty()) {
        while (!int_digits.empty() && int_digits.back() == '0') {
            int_digits.remove_suffix(1);
        }
    } else {
        while (!frac_digits.empty() && frac_digits.back() == '0') {
            frac_digits.remove_suffix(1);
        }
        if (frac_digits.empty()) {
            while (!int_digits.empty() && int_digits.back() == '0') {
                int_digits.remove_suffix(1);
            }
        }
    }
    const auto digit_count = static_cast<std::int64_t>(int_digits.size() + frac_digits.size());
    if (digit_count == 0) {
        return {decimal_status::ok, "0"};  // every zero, "-0" included, is plain 0
    }
    if (parts.negative) {
        return {decimal_status::negative, {}};
    }
    constexpr auto limit = static_cast<std::int64_t>(max_decimal_digits);
    if (point > limit) {
        return {decimal_status::too_large, {}};
    }
    if (digit_count - point > limit) {
        return {decimal_status::too_precise, {}};
    }

    // Both bounds hold, so the output is at most 18 + 1 + 18 characters.
    std::string out;
    out.reserve(2 * max_decimal_digits + 2);
    auto digit_at = [&](std::int64_t i) {
        const auto index = static_cast<std::size_t>(i);
        return index < int_digits.size() ? int_digits[index] : frac_digits[index - int_digits.size()];
    };
    if (point <= 0) {
        out.append("0.");
        out.append(static_cast<std::size_t>(-point), '0');
        for (std::int64_t i = 0; i < digit_count; ++i) {
            out.push_back(digit_at(i));
        }
    } else {
        for (std::int64_t i = 0; i < point; ++i) {
            out.push_back(i < digit_count ? digit_at(i) : '0');
        }
        if (point < digit_count) {
            out.push_back('.');
            for (std::int64_t i = point; i < digit_count; ++i) {
                out.push_back(digit_at(i));
            }
        }
    }
    return {decimal_status::ok, std::move(out)};
}

std::optional<std::string> normalize_decimal(std::string_view text) {
    auto result = parse_decimal(text);
    if (!result.ok()) {
        return std::nullopt;
    }
    return std::move(result.text);
}

double decimal_to_double(std::string_view canonical) {
    // from_chars rather than strtod: no locale (a "," decimal point would misread) and no
    // NUL-terminated copy.
    double out = 0.0;
    const auto [ptr, ec] = std::from_chars(canonical.data(), canonical.data() + canonical.size(), out);
    if (ec != std::errc{} || ptr != canonical.data() + canonical.size()) {
        return 0.0;
    }
    return out;
}

}  // namespace cc::events
