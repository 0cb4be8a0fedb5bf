#include "cc/intake/body_decoder.hpp"

#include <memory>

#include <zlib.h>

#include "cc/util/text.hpp"

namespace cc::intake {
namespace {

std::string lower_trimmed(std::string_view text) { return util::ascii_lower(util::trim(text, util::ows)); }

struct inflate_end {
    void operator()(z_stream* s) const noexcept { inflateEnd(s); }
};

// A zlib stream header: CM 8 (deflate), a window of at most 32 KiB, a valid check value.
bool has_zlib_header(std::string_view body) noexcept {
    if (body.size() < 2) return false;
    const auto cmf = static_cast<unsigned char>(body[0]);
    const auto flg = static_cast<unsigned char>(body[1]);
    return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

// Inflates `in` with zlib's `window_bits` convention, producing at most `limit` bytes.
decode_status inflate_all(std::string_view in, int window_bits, std::size_t limit, std::string& out) {
    z_stream stream{};
    if (inflateInit2(&stream, window_bits) != Z_OK) return decode_status::corrupt;
    std::unique_ptr<z_stream, inflate_end> guard(&stream);
    out.clear();
    // One byte of room past the limit tells "exactly at the limit" from "over it".
    std::string buffer(64 * 1024, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        const std::size_t room = std::min(buffer.size(), limit + 1 - out.size());
        stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
        stream.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer.data(), room - stream.avail_out);
        if (out.size() > limit) return decode_status::too_large;
        if (rc == Z_STREAM_END) {
            // Concatenated gzip members are one body (RFC 1952); anything else after the end is not.
            if (stream.avail_in == 0) return decode_status::ok;
            if (window_bits < 16 + 8 || inflateReset(&stream) != Z_OK) return decode_status::corrupt;
            continue;
        }
        if (rc != Z_OK) return decode_status::corrupt;  // data error, or truncated input (Z_BUF_ERROR)
        if (stream.avail_in == 0 && stream.avail_out != 0) return decode_status::corrupt;  // ended early
    }
}

}  // namespace

decode_status decode_body(std::string_view content_encoding, std::string& body, std::size_t limit) {
    const auto coding = lower_trimmed(content_encoding);
    if (coding.empty() || coding == "identity") return decode_status::ok;
    int window_bits;
    if (coding == "gzip" || coding == "x-gzip") {
        window_bits = 16 + MAX_WBITS;  // gzip wrapper only
    } else if (coding == "deflate") {
        window_bits = has_zlib_header(body) ? MAX_WBITS : -MAX_WBITS;
    } else {
        return decode_status::unsupported;
    }
    std::string decoded;
    const auto status = inflate_all(body, window_bits, limit, decoded);
    if (status == decode_status::ok) body = std::move(decoded);
    return status;
}

}  // namespace cc::intake
