#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "cc/web/message.hpp"

namespace cc::web {

/// @brief Why a request's framing or head was refused: an HTTP status code and the
/// contract's error code and message. A framing refusal always ends the connection,
/// since the bytes after it cannot be trusted to start a request.
struct framing_error {
    util::error_code code = util::error_code::bad_request;
    std::string message;
};

/// @brief The longest chunk-size line (size, extensions) accepted, so that a chunk
/// header cannot make the server buffer more than this.
inline constexpr std::size_t max_chunk_header_bytes = 4096;

/// @brief Where the header block in `data` ends (the index just past its empty line),
/// npos while it is incomplete, or an error for bytes no request head may hold: a bare
/// CR or LF as a line ending. `data` starts at the request line (leading CRLFs removed).
struct head_scan {
    std::size_t end = std::string_view::npos;
    std::optional<framing_error> error;
};
/// Scanning resumes at `from` (bytes before it were scanned by an earlier call).
head_scan scan_head(std::string_view data, std::size_t from = 0) noexcept;

/// @brief Checks a complete header block (request line, fields, empty line) for what
/// Beast 1.74 accepts but RFC 9112 lets a server refuse: obsolete line folding (a line
/// starting with SP or HTAB), which Beast silently joins into the previous value.
std::optional<framing_error> check_head_bytes(std::string_view block) noexcept;

/// @brief RFC 9112 rules on a parsed head, for what the parser does not enforce:
/// the request target (origin-form, absolute-form, `*`; visible ASCII only), exactly one
/// valid Host on HTTP/1.1 (at most one on 1.0), Transfer-Encoding (only `chunked`, as
/// the final and only coding; never with Content-Length; never on HTTP/1.0).
/// On success an absolute-form target is rewritten to origin-form and its authority
/// becomes the Host (RFC 9112 §3.2.2), so handlers see one form only.
std::optional<framing_error> check_request_head(request& req);

/// @brief True for a Host value RFC 9112 accepts and that names a host we can compare:
/// a DNS-style name or IPv4 address (labels of letters, digits, `-`, `_`, 1-63
/// characters, at most one trailing dot) or a bracketed IPv6 literal, with an optional
/// port of 1-5 digits (≤ 65535). Empty is valid (RFC 9110 §7.2).
bool is_valid_host(std::string_view host) noexcept;

}  // namespace cc::web
