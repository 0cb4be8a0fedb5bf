#include "cc/util/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace cc::util {
namespace {

/// @brief The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
        if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

/// @brief The bytes a JSON string cannot hold as they are: controls, `"`, `\` and every
/// non-ASCII byte (checked as UTF-8 before it is copied).
constexpr std::array<bool, 256> special_bytes = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) table[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    return table;
}();

/// @brief True when none of the 8 bytes at `p` is special (SWAR: a byte-wise test
/// on one 64-bit word), so the common all-ASCII run is scanned a word at a time.
bool plain_word(const char* p) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;  // a byte < 0x20 (or >= 0x80, caught below)
    return ((w & highs) | below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) == 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0;  // start of the run of bytes copied as they are
    const auto flush = [&](std::size_t upto) { out.append(s.data() + plain, upto - plain); };
    for (std::size_t i = 0; i < s.size();) {
        if (i + 8 <= s.size() && plain_word(s.data() + i)) {
            i += 8;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (!special_bytes[c]) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (const auto n = utf8_sequence(s.substr(i)); n > 0) {
                i += n;
                continue;
            }
        }
        flush(i);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no valid sequence
                }
        }
        plain = ++i;
    }
    flush(s.size());
    out += '"';
}

std::string& json_object_writer::begin(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    append_json_string(out_, key);
    out_ += ':';
    return out_;
}

json_object_writer& json_object_writer::string(std::string_view key, std::string_view value) {
    append_json_string(begin(key), value);
    return *this;
}

json_object_writer& json_object_writer::integer(std::string_view key, std::int64_t value) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    begin(key).append(buf, end);
    return *this;
}

json_object_writer& json_object_writer::decimal3(std::string_view key, double value) {
    auto& out = begin(key);
    if (!std::isfinite(value)) {
        out += "null";  // JSON has no NaN or infinity
        return *this;
    }
    char buf[64];
    const auto end = std::to_chars(buf, buf + sizeof buf, std::round(value * 1000.0) / 1000.0).ptr;
    out.append(buf, end);
    return *this;
}

json_object_writer& json_object_writer::raw(std::string_view key, std::string_view json) {
    begin(key) += json;
    return *this;
}

}  // namespace cc::util
