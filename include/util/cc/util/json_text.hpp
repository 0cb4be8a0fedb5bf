#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cc::util {

/// @brief Appends `s` as a JSON string, quotes included. Control characters, `"` and `\`
/// are escaped; invalid UTF-8 becomes U+FFFD (as nlohmann's `error_handler_t::replace`),
/// so the output is always valid JSON whatever bytes a client sent.
void append_json_string(std::string& out, std::string_view s);

/// @brief Builds one JSON object member by member into a string, for text produced on
/// every request (error bodies, access-log lines) where building a document first
/// would cost more than the answer itself. Members appear in the order they are added.
class json_object_writer {
public:
    /// @brief Appends to `out` (which keeps what it held): `{` now, `}` at close().
    explicit json_object_writer(std::string& out) : out_(out) { out_ += '{'; }

    json_object_writer& string(std::string_view key, std::string_view value);
    json_object_writer& integer(std::string_view key, std::int64_t value);
    /// @brief A number rounded to 3 decimals (latencies: 0.038, not 0.037756000000000005).
    json_object_writer& decimal3(std::string_view key, double value);
    /// @brief A member whose value is JSON text the caller built (an object or array).
    json_object_writer& raw(std::string_view key, std::string_view json);
    /// @brief Opens a member whose value the caller appends to out() next.
    std::string& begin(std::string_view key);

    /// @brief Writes the closing brace; add nothing after it.
    void close() { out_ += '}'; }

private:
    std::string& out_;
    bool first_ = true;
};

}  // namespace cc::util
