#include "cc/events/json_slices.hpp"

namespace cc::events {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// @brief Scans over one JSON value starting at `i` (not whitespace); returns the index after it.
std::size_t skip_value(std::string_view s, std::size_t i) {
    if (i >= s.size()) return i;
    if (s[i] == '"') {
        for (++i; i < s.size(); ++i) {
            if (s[i] == '\\') {
                ++i;
            } else if (s[i] == '"') {
                return i + 1;
            }
        }
        return i;
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (c == '"') {
                i = skip_value(s, i) - 1;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
        }
        return i;
    }
    // A number or literal: up to the next delimiter.
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i])) ++i;
    return i;
}

std::size_t skip_space(std::string_view s, std::size_t i) {
    while (i < s.size() && is_space(s[i])) ++i;
    return i;
}

/// @brief The decoded-enough text of a member name: only exact (unescaped) names match.
std::string_view raw_name(std::string_view s, std::size_t start, std::size_t end) {
    return s.substr(start + 1, end - start - 2);
}

}  // namespace

std::vector<std::string_view> array_element_texts(std::string_view body, std::string_view key) {
    std::vector<std::string_view> out;
    std::size_t i = skip_space(body, 0);
    if (i >= body.size() || body[i] != '{') return out;
    i = skip_space(body, i + 1);
    std::vector<std::string_view> last_match;
    while (i < body.size() && body[i] == '"') {
        const auto name_end = skip_value(body, i);
        const bool wanted = raw_name(body, i, name_end) == key;
        i = skip_space(body, name_end);
        if (i >= body.size() || body[i] != ':') return out;
        i = skip_space(body, i + 1);
        const auto value_start = i;
        const auto value_end = skip_value(body, i);
        if (wanted && body[value_start] == '[') {
            // The last occurrence wins, as it does for the parsed document.
            last_match.clear();
            std::size_t j = skip_space(body, value_start + 1);
            while (j < value_end - 1) {
                const auto element_end = skip_value(body, j);
                last_match.push_back(body.substr(j, element_end - j));
                j = skip_space(body, element_end);
                if (j < body.size() && body[j] == ',') j = skip_space(body, j + 1);
            }
        } else if (wanted) {
            last_match.clear();
        }
        i = skip_space(body, value_end);
        if (i < body.size() && body[i] == ',') i = skip_space(body, i + 1);
    }
    return last_match;
}

}  // namespace cc::events
