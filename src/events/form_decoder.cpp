#include "cc/events/form_decoder.hpp"

#include "cc/events/json_reader.hpp"
#include "cc/util/percent_decode.hpp"

namespace cc::events {


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
            if (!util::percent_decode_into(raw_name, true, name) || !util::percent_decode_into(raw_value, true, value)) {
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
