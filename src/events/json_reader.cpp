#include "cc/events/json_reader.hpp"

#include <vector>

namespace cc::events {

namespace {

using json = nlohmann::json;
using dom_parser = nlohmann::detail::json_sax_dom_parser<json>;

// One open container: an object remembers its current key, an array its next index.
struct frame {
    bool is_array = false;
    std::size_t index = 0;
    std::string key;
};

// Appends one JSON-pointer reference token, escaped per RFC 6901.
void append_token(std::string& pointer, std::string_view token) {
    pointer.push_back('/');
    for (char c : token) {
        if (c == '~') {
            pointer.append("~0");
        } else if (c == '/') {
            pointer.append("~1");
        } else {
            pointer.push_back(c);
        }
    }
}

// Builds the DOM through nlohmann's own parser while watching depth and keeping the
// source text of `value` floats, which the DOM alone would round to a double.
class capturing_sax {
public:
    capturing_sax(json& root, std::unordered_map<std::string, std::string>& texts)
        : dom_(root, false), texts_(texts) {}

    bool null() { return scalar(dom_.null()); }
    bool boolean(bool val) { return scalar(dom_.boolean(val)); }
    bool number_integer(json::number_integer_t val) { return scalar(dom_.number_integer(val)); }
    bool number_unsigned(json::number_unsigned_t val) { return scalar(dom_.number_unsigned(val)); }
    bool string(json::string_t& val) { return scalar(dom_.string(val)); }
    bool binary(json::binary_t& val) { return scalar(dom_.binary(val)); }

    bool number_float(json::number_float_t val, const json::string_t& raw) {
        if (!frames_.empty() && !frames_.back().is_array && frames_.back().key == "value") {
            texts_[current_pointer()] = raw;
        }
        return scalar(dom_.number_float(val, raw));
    }

    bool start_object(std::size_t len) {
        if (frames_.size() >= max_json_depth) {
            too_deep_ = true;
            return false;
        }
        frames_.push_back({false, 0, {}});
        return dom_.start_object(len);
    }

    bool key(json::string_t& val) {
        frames_.back().key = val;
        if (val == "value") {
            // A duplicate key replaces the earlier value, so forget its text too.
            texts_.erase(current_pointer());
        }
        return dom_.key(val);
    }

    bool end_object() {
        frames_.pop_back();
        return scalar(dom_.end_object());
    }

    bool start_array(std::size_t len) {
        if (frames_.size() >= max_json_depth) {
            too_deep_ = true;
            return false;
        }
        frames_.push_back({true, 0, {}});
        return dom_.start_array(len);
    }

    bool end_array() {
        frames_.pop_back();
        return scalar(dom_.end_array());
    }

    template <class Exception>
    bool parse_error(std::size_t position, const std::string& /*last_token*/, const Exception& ex) {
        // nlohmann's own message quotes the offending input, so keep only where and what kind.
        error_position_ = position;
        number_overflow_ = ex.id == 406;
        return dom_.parse_error(position, std::string{}, ex);
    }

    bool too_deep() const noexcept { return too_deep_; }
    bool number_overflow() const noexcept { return number_overflow_; }
    std::size_t error_position() const noexcept { return error_position_; }

private:
    // A value (or a closed container) is complete: the enclosing array moves on.
    bool scalar(bool ok) {
        if (!frames_.empty() && frames_.back().is_array) {
            ++frames_.back().index;
        }
        return ok;
    }

    std::string current_pointer() const {
        std::string pointer;
        for (const auto& f : frames_) {
            if (f.is_array) {
                append_token(pointer, std::to_string(f.index));
            } else {
                append_token(pointer, f.key);
            }
        }
        return pointer;
    }

    dom_parser dom_;
    std::unordered_map<std::string, std::string>& texts_;
    std::vector<frame> frames_;
    bool too_deep_ = false;
    bool number_overflow_ = false;
    std::size_t error_position_ = 0;
};

bool is_json_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        // Lead byte -> sequence length and the allowed range of the second byte
        // (the narrowed ranges exclude overlong forms, surrogates and > U+10FFFF).
        std::size_t length = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
        } else if (c == 0xE0) {
            length = 3, lo = 0xA0;
        } else if (c >= 0xE1 && c <= 0xEC) {
            length = 3;
        } else if (c == 0xED) {
            length = 3, hi = 0x9F;
        } else if (c >= 0xEE && c <= 0xEF) {
            length = 3;
        } else if (c == 0xF0) {
            length = 4, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            length = 4;
        } else if (c == 0xF4) {
            length = 4, hi = 0x8F;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < length || p[1] < lo || p[1] > hi) {
            return false;
        }
        for (std::size_t i = 2; i < length; ++i) {
            if (p[i] < 0x80 || p[i] > 0xBF) {
                return false;
            }
        }
        p += length;
    }
    return true;
}

std::optional<json_document> read_json(std::string_view body, std::string& error) {
    try {
        std::size_t first = 0;
        while (first < body.size() && is_json_whitespace(body[first])) {
            ++first;
        }
        if (first == body.size()) {
            error = "the request body is empty";
            return std::nullopt;
        }
        // Checked up front so the client hears "UTF-8" rather than a vague syntax error.
        if (!is_valid_utf8(body)) {
            error = "the request body is not valid UTF-8";
            return std::nullopt;
        }
        json_document document;
        capturing_sax sax(document.root, document.value_texts);
        const bool ok = json::sax_parse(body.data(), body.data() + body.size(), &sax);
        if (!ok) {
            if (sax.too_deep()) {
                error = "the JSON is nested more than " + std::to_string(max_json_depth) + " levels deep";
            } else if (sax.number_overflow()) {
                error = "the JSON holds a number too large to represent";
            } else {
                error = "the request body is not valid JSON (error near byte " +
                        std::to_string(sax.error_position()) + ")";
            }
            return std::nullopt;
        }
        return document;
    } catch (...) {
        // nlohmann can still throw (e.g. out of memory); a bad body must never escape as one.
        error = "the request body could not be read as JSON";
        return std::nullopt;
    }
}

const std::string* value_text_at(const json_document& document, const std::string& pointer) {
    const auto it = document.value_texts.find(pointer);
    return it == document.value_texts.end() ? nullptr : &it->second;
}

}  // namespace cc::events
