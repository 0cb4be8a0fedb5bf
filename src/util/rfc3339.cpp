#include "cc/util/rfc3339.hpp"

#include <date/date.h>

#include <chrono>
#include <cstdio>

namespace cc::util {

namespace {

using std::chrono::milliseconds;

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly `count` digits at `pos`; false if any is not a digit.
bool read_fixed(std::string_view text, std::size_t pos, std::size_t count, int& out) noexcept {
    if (pos + count > text.size()) {
        return false;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!is_digit(text[i])) {
            return false;
        }
        value = value * 10 + (text[i] - '0');
    }
    out = value;
    return true;
}

constexpr millis ms_per_minute = 60'000;
constexpr millis ms_per_day = 86'400'000;

/// @brief Keeps times that RFC 3339 can write back (years 0000-9999 in UTC): an offset
/// can push 9999-12-31 into year 10000, which format_rfc3339 could not round-trip.
std::optional<millis> within_four_digit_years(millis at) {
    constexpr millis first = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
    constexpr millis last = 253'402'300'799'999;   // 9999-12-31T23:59:59.999Z
    if (at < first || at > last) return std::nullopt;
    return at;
}

}  // namespace

std::string format_rfc3339(millis at) {
    const date::sys_time<milliseconds> tp{milliseconds{at}};
    // floor, not truncation, so times before 1970 land on the right day.
    const auto day = date::floor<date::days>(tp);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss<milliseconds> hms{tp - day};
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                                static_cast<int>(hms.minutes().count()),
                                static_cast<int>(hms.seconds().count()),
                                static_cast<int>(hms.subseconds().count()));
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<millis> parse_rfc3339(std::string_view text) {
    // Fixed layout: YYYY-MM-DDTHH:MM:SS, then an optional fraction, then the zone.
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_fixed(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
        !read_fixed(text, 5, 2, month) || text[7] != '-' || !read_fixed(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't') || !read_fixed(text, 11, 2, hour) || text[13] != ':' ||
        !read_fixed(text, 14, 2, minute) || text[16] != ':' || !read_fixed(text, 17, 2, second)) {
        return std::nullopt;
    }
    const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                   date::day{static_cast<unsigned>(day)}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }

    std::size_t pos = 19;
    millis fraction_ms = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        millis scale = 100;
        // Any number of digits is allowed; digits past the third are truncated.
        while (pos < text.size() && is_digit(text[pos])) {
            fraction_ms += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }

    if (pos >= text.size()) {
        return std::nullopt;  // the zone is mandatory in RFC 3339
    }
    millis offset_ms = 0;
    const char zone = text[pos];
    if (zone == 'Z' || zone == 'z') {
        ++pos;
    } else if (zone == '+' || zone == '-') {
        int off_h = 0, off_m = 0;
        if (!read_fixed(text, pos + 1, 2, off_h) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_fixed(text, pos + 4, 2, off_m) || off_h > 23 || off_m > 59) {
            return std::nullopt;
        }
        offset_ms = (off_h * 60 + off_m) * ms_per_minute;
        if (zone == '-') {
            offset_ms = -offset_ms;
        }
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) {
        return std::nullopt;
    }

    const millis day_ms = date::sys_days{ymd}.time_since_epoch().count() * ms_per_day;
    const millis local_ms = ((hour * 60 + minute) * 60) * 1000LL;
    if (second == 60) {
        // Leap second: Unix time has none, so it is accepted only where one can occur
        // (the last minute of a UTC day) and read as 23:59:59.999, keeping order within
        // the day without spilling into the next one.
        const millis utc_minute_start = day_ms + local_ms - offset_ms;
        const millis minute_of_day = ((utc_minute_start % ms_per_day) + ms_per_day) % ms_per_day;
        if (minute_of_day != ms_per_day - ms_per_minute) {
            return std::nullopt;
        }
        return within_four_digit_years(utc_minute_start + 59'999);
    }
    return within_four_digit_years(day_ms + local_ms + second * 1000LL + fraction_ms - offset_ms);
}

}  // namespace cc::util
