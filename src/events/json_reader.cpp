#include "cc/events/json_reader.hpp"

#include <cstring>
#include <iterator>
#include <vector>

namespace cc::events {

namespace {

using json = nlohmann::json;

// An input iterator over the body that publishes how far the parser has read, so the
// builder knows where each batch element starts and ends without a second scan.
// nlohmann reads one byte at a time through it and never looks back.
class tracking_iterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    tracking_iterator(const char* at, const char** read_to) : at_(at), read_to_(read_to) {}

    reference operator*() const { return *at_; }
    tracking_iterator& operator++() {
        *read_to_ = ++at_;
        return *this;
    }
    tracking_iterator operator++(int) {
        auto before = *this;
        ++*this;
        return before;
    }
    bool operator==(const tracking_iterator& other) const { return at_ == other.at_; }

private:
    const char* at_;
    const char** read_to_;
};

bool is_event_field(std::string_view name) noexcept {
    for (const auto field : event_field_names) {
        if (name == field) return true;
    }
    return false;
}

// What an open container is to the capture rules; everything else is `other`.
enum class role : unsigned char { other, root_object, events_array, event_object };

// What the value about to arrive is, decided by the key read before it.
enum class expecting : unsigned char { nothing, root_value, events_array, event_value };

// Builds the DOM from nlohmann's SAX events in one pass over the body, and on the way:
// refuses depth beyond the limit and duplicate member names, keeps the source text of
// the floats at the fixed paths /value and /events/N/value, and records each batch
// element's byte range. Work per event is constant apart from copying the text it
// carries once, so the whole read is linear in the body.
class document_builder {
public:
    document_builder(std::string_view body, const char* const* read_to, body_shape shape, json_document& out)
        : body_(body), read_to_(read_to), shape_(shape), out_(out) {}

    bool null() { return skipped() || put(json(nullptr)); }
    bool boolean(bool val) { return skipped() || put(json(val)); }
    bool number_integer(json::number_integer_t val) { return skipped() || put(json(val)); }
    bool number_unsigned(json::number_unsigned_t val) { return skipped() || put(json(val)); }
    bool string(json::string_t& val) { return skipped() || put(json(val)); }
    bool binary(json::binary_t& /*val*/) { return false; }  // JSON text never holds binary

    bool number_float(json::number_float_t val, const json::string_t& raw) {
        if (skipped()) return true;
        if (expecting_ == expecting::root_value) {
            out_.value_texts.emplace("/value", raw);
        } else if (expecting_ == expecting::event_value) {
            out_.value_texts.emplace("/events/" + std::to_string(event_index_) + "/value", raw);
        }
        return put(json(val));
    }

    bool start_object(std::size_t /*len*/) {
        if (stack_.size() + skip_depth_ >= max_json_depth) {
            too_deep_ = true;
            return false;
        }
        if (skip_container()) return true;
        role r = role::other;
        if (stack_.empty()) {
            r = role::root_object;
        } else if (roles_.back() == role::events_array) {
            r = role::event_object;
            event_index_ = stack_.back()->size();
            // The parser has just read the `{`.
            event_start_ = offset() - 1;
        }
        json* node = put_node(json::object());
        stack_.push_back(node);
        roles_.push_back(r);
        return true;
    }

    bool key(json::string_t& val) {
        if (skip_depth_ > 0) return true;
        auto& members = stack_.back()->get_ref<json::object_t&>();
        const auto [it, inserted] = members.emplace(val, nullptr);
        if (!inserted) {
            duplicate_ = true;
            error_position_ = offset();
            return false;
        }
        slot_ = &it->second;
        switch (roles_.back()) {
            case role::root_object:
                expecting_ = val == "value" ? expecting::root_value
                             : val == "events" ? expecting::events_array
                                               : expecting::nothing;
                break;
            case role::event_object:
                expecting_ = val == "value" ? expecting::event_value : expecting::nothing;
                break;
            default:
                expecting_ = expecting::nothing;
        }
        // A member no rule reads keeps its name (for the duplicate check) but not its value.
        if (shape_ != body_shape::any && (roles_.back() == role::root_object || roles_.back() == role::event_object)) {
            const bool read = roles_.back() == role::root_object && shape_ == body_shape::batch
                                  ? val == "events"
                                  : is_event_field(val);
            skip_next_ = !read;
        }
        return true;
    }

    bool end_object() {
        if (skip_depth_ > 0) {
            --skip_depth_;
            return true;
        }
        if (roles_.back() == role::event_object) {
            // The parser has just read the `}`; a range that does not look like the object
            // (never expected) leaves the view empty and the caller re-serializes instead.
            const std::size_t end = offset();
            if (end > event_start_ && body_[event_start_] == '{' && body_[end - 1] == '}') {
                out_.event_texts[event_index_] = body_.substr(event_start_, end - event_start_);
            }
        }
        return close();
    }

    bool start_array(std::size_t /*len*/) {
        if (stack_.size() + skip_depth_ >= max_json_depth) {
            too_deep_ = true;
            return false;
        }
        if (skip_container()) return true;
        if (shape_ == body_shape::batch && !roles_.empty() && roles_.back() == role::events_array) {
            // An array is no event: it is refused as one, so its contents are never needed.
            put_node(json::array());
            skip_depth_ = 1;
            return true;
        }
        const role r = expecting_ == expecting::events_array ? role::events_array : role::other;
        json* node = put_node(json::array());
        stack_.push_back(node);
        roles_.push_back(r);
        return true;
    }

    bool end_array() {
        if (skip_depth_ > 0) {
            --skip_depth_;
            return true;
        }
        return close();
    }

    template <class Exception>
    bool parse_error(std::size_t position, const std::string& /*last_token*/, const Exception& ex) {
        // nlohmann's own message quotes the offending input, so keep only where and what kind.
        error_position_ = position;
        number_overflow_ = ex.id == 406;
        return false;
    }

    bool too_deep() const noexcept { return too_deep_; }
    bool duplicate() const noexcept { return duplicate_; }
    bool number_overflow() const noexcept { return number_overflow_; }
    std::size_t error_position() const noexcept { return error_position_; }

private:
    // True (and the value dropped) inside a skipped container, or for a member nobody reads.
    bool skipped() noexcept {
        if (skip_depth_ > 0) return true;
        if (skip_next_) {
            skip_next_ = false;
            expecting_ = expecting::nothing;
            return true;
        }
        return false;
    }

    // Enters a container that is skipped whole; only its depth is still counted.
    bool skip_container() noexcept {
        if (skip_depth_ > 0) {
            ++skip_depth_;
            return true;
        }
        if (skip_next_) {
            skip_next_ = false;
            expecting_ = expecting::nothing;
            skip_depth_ = 1;
            return true;
        }
        return false;
    }

    std::size_t offset() const noexcept { return static_cast<std::size_t>(*read_to_ - body_.data()); }

    bool put(json&& value) {
        put_node(std::move(value));
        return true;
    }

    // Places a value where the document expects the next one and returns where it now lives.
    json* put_node(json&& value) {
        json* placed;
        if (stack_.empty()) {
            out_.root = std::move(value);
            placed = &out_.root;
        } else if (stack_.back()->is_array()) {
            auto& elements = stack_.back()->get_ref<json::array_t&>();
            if (roles_.back() == role::events_array) {
                out_.event_texts.emplace_back();  // one view per element, indexes aligned
            }
            elements.push_back(std::move(value));
            placed = &elements.back();
        } else {
            *slot_ = std::move(value);
            placed = slot_;
        }
        expecting_ = expecting::nothing;
        return placed;
    }

    bool close() {
        stack_.pop_back();
        roles_.pop_back();
        expecting_ = expecting::nothing;
        return true;
    }

    std::string_view body_;
    const char* const* read_to_;
    body_shape shape_;
    json_document& out_;
    std::size_t skip_depth_ = 0;  // > 0 inside a container whose contents are not kept
    bool skip_next_ = false;      // the member value about to arrive is not kept
    std::vector<json*> stack_;  // the open containers, outermost first
    std::vector<role> roles_;   // parallel to stack_
    json* slot_ = nullptr;      // the member the next value of an object goes into
    expecting expecting_ = expecting::nothing;
    std::size_t event_index_ = 0;
    std::size_t event_start_ = 0;
    bool too_deep_ = false;
    bool duplicate_ = false;
    bool number_overflow_ = false;
    std::size_t error_position_ = 0;
};

bool is_json_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string near_byte(std::size_t position) { return "error near byte " + std::to_string(position); }

}  // namespace

std::size_t invalid_utf8_offset(std::string_view bytes) noexcept {
    const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* p = begin;
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
            return static_cast<std::size_t>(p - begin);
        }
        if (static_cast<std::size_t>(end - p) < length || p[1] < lo || p[1] > hi) {
            return static_cast<std::size_t>(p - begin);
        }
        for (std::size_t i = 2; i < length; ++i) {
            if (p[i] < 0x80 || p[i] > 0xBF) {
                return static_cast<std::size_t>(p - begin);
            }
        }
        p += length;
    }
    return std::string_view::npos;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
    return invalid_utf8_offset(bytes) == std::string_view::npos;
}

std::optional<json_document> read_json(std::string_view body, std::string& error) {
    return read_events(body, body_shape::any, error);
}

std::optional<json_document> read_events(std::string_view body, body_shape shape, std::string& error) {
    try {
        std::size_t first = 0;
        while (first < body.size() && is_json_whitespace(body[first])) {
            ++first;
        }
        if (first == body.size()) {
            error = "The body is empty; send a JSON value.";
            return std::nullopt;
        }
        // nlohmann takes a NUL byte for the end of the input (it parses C strings too), which
        // would let bytes after it pass unread. No JSON text holds one raw, so refuse it here.
        if (const void* nul = std::memchr(body.data(), '\0', body.size()); nul != nullptr) {
            const auto at = static_cast<std::size_t>(static_cast<const char*>(nul) - body.data());
            if (const auto bad = invalid_utf8_offset(body.substr(0, at)); bad != std::string_view::npos) {
                error = "The body is not valid UTF-8 (" + near_byte(bad + 1) + ").";
            } else {
                error = "The body is not valid JSON (" + near_byte(at + 1) + ").";
            }
            return std::nullopt;
        }
        json_document document;
        const char* read_to = body.data();
        document_builder builder(body, &read_to, shape, document);
        const bool ok = json::sax_parse(tracking_iterator(body.data(), &read_to),
                                        tracking_iterator(body.data() + body.size(), &read_to), &builder,
                                        json::input_format_t::json, /*strict=*/true);
        if (ok) {
            return document;
        }
        // nlohmann checks UTF-8 as it reads strings; a separate pass runs only for a refused
        // body, so the client hears "UTF-8" rather than a vague syntax error.
        if (const auto bad = invalid_utf8_offset(body); bad != std::string_view::npos && !builder.too_deep() &&
                                                        !builder.duplicate() && bad < builder.error_position()) {
            error = "The body is not valid UTF-8 (" + near_byte(bad + 1) + ").";
        } else if (builder.too_deep()) {
            error = "The body is not accepted: its JSON is nested more than " + std::to_string(max_json_depth) +
                    " levels deep.";
        } else if (builder.duplicate()) {
            error = "The body is not accepted: an object holds the same member name twice (near byte " +
                    std::to_string(builder.error_position()) + ").";
        } else if (builder.number_overflow()) {
            error = "The body is not accepted: it holds a number too large to represent (near byte " +
                    std::to_string(builder.error_position()) + ").";
        } else {
            error = "The body is not valid JSON (" + near_byte(builder.error_position()) + ").";
        }
        return std::nullopt;
    } catch (...) {
        // nlohmann can still throw (e.g. out of memory); a bad body must never escape as one.
        error = "The body could not be read as JSON.";
        return std::nullopt;
    }
}

const std::string* value_text_at(const json_document& document, const std::string& pointer) {
    const auto it = document.value_texts.find(pointer);
    return it == document.value_texts.end() ? nullptr : &it->second;
}

}  // namespace cc::events
