#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace cc::intake {

/// @brief How decoding a request body by its Content-Encoding went.
enum class decode_status {
    ok,           ///< `body` now holds the decoded bytes (or was not encoded)
    unsupported,  ///< an encoding other than gzip, deflate or identity: 415
    too_large,    ///< decoded, it would exceed the limit: 413 (decoding stopped there)
    corrupt,      ///< not a valid gzip or deflate stream: 400
};

/// @brief Decodes `body` in place according to a Content-Encoding header value: empty or
/// `identity` leaves it as is; `gzip` (or `x-gzip`) and `deflate` (zlib-wrapped as RFC 9110
/// defines it, or the raw deflate some clients send) are inflated with zlib. At most
/// `limit` decoded bytes are ever produced: a small compressed bomb costs no more memory or
/// time than a plain body at the limit. One coding only; a list of codings is unsupported.
decode_status decode_body(std::string_view content_encoding, std::string& body, std::size_t limit);

}  // namespace cc::intake
