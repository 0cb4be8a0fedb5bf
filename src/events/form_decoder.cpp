#include "cc/events/form_decoder.hpp"

#include "cc/events/json_reader.hpp"

namespace cc::events {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// Percent-decodes one name or value into `out`; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
            const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return true;
}

}  // namespace

std::optional<nlohmann::json> decode_form(std::string_view body, std::string& error) {
    // The body is stored as the event's raw text, so it must be UTF-8 itself, not only
    // once decoded.
    if (!is_valid_utf8(body)) {
        error = "the form body is not valid UTF-8";
        return std::nullopt;
    }
    try {
        auto result = nlohmann::json::object();
        std::string name;
        std::string value;
        while (!body.empty()) {
            const std::size_t amp = body.find('&');
            const std::string_view pair = body.substr(0, amp);
            body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
            if (pair.empty()) {
                continue;
            }
            const std::size_t eq = pair.find('=');
            const std::string_view raw_name = pair.substr(0, eq);
            const std::string_view raw_value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            if (!percent_decode(raw_name, name) || !percent_decode(raw_value, value)) {
                error = "the form body has a malformed percent-escape";
                return std::nullopt;
            }
            // Decoded bytes are checked, since %XX can spell any byte at all.
            if (!is_valid_utf8(name) || !is_valid_utf8(value)) {
                error = "the form body is not valid UTF-8";
                return std::nullopt;
            }
            result[name] = value;  // a repeated key: the last one wins
        }
        return result;
    } catch (...) {
        error = "the form body could not be read";
        return std::nullopt;
    }
}

}  // namespace cc::events
