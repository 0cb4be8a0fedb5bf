#include "cc/web/framing.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <arpa/inet.h>

#include <boost/beast/core/string.hpp>

#include "cc/util/text.hpp"

namespace cc::web {
namespace {

framing_error bad(std::string message) {
    return {util::error_code::bad_request, std::move(message)};
}

bool is_tchar(unsigned char c) noexcept {
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string_view trim_ows(std::string_view s) noexcept { return util::trim(s, util::ows); }

bool iequals(std::string_view a, std::string_view b) noexcept {
    return boost::beast::iequals(boost::beast::string_view(a.data(), a.size()), boost::beast::string_view(b.data(), b.size()));
}

bool is_valid_port(std::string_view port) noexcept {
    if (port.empty() || port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

bool is_valid_host_name(std::string_view name) noexcept {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // one trailing dot: a FQDN
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return false;  // empty label: "a..b", ".a", "a.."
            label = 0;
            continue;
        }
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

/// @brief Splits the codings of every Transfer-Encoding field, in order (empty list
/// elements are ignored, RFC 9110 §5.6.1). False when an element is not a token.
bool transfer_codings(const request& req, std::vector<std::string_view>& out) {
    // Beast's equal_range spans the field list, not the fields of one name: walk it all.
    for (const auto& field : req) {
        if (field.name() != bhttp::field::transfer_encoding) continue;
        std::string_view list(field.value().data(), field.value().size());
        while (true) {
            const auto comma = list.find(',');
            auto item = trim_ows(list.substr(0, comma));
            if (!item.empty()) {
                // A coding's parameters ("gzip;q=1") are part of the element; only its name decides.
                const auto name = trim_ows(item.substr(0, item.find(';')));
                if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); })) {
                    return false;
                }
                if (name.size() != item.size()) {
                    for (char c : item) {
                        const auto u = static_cast<unsigned char>(c);
                        if (u < 0x20 && c != '\t') return false;
                        if (u >= 0x7f) return false;
                    }
                }
                out.push_back(item);
            }
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    return true;
}

std::optional<framing_error> check_transfer_encoding(const request& req) {
    if (req.find(bhttp::field::transfer_encoding) == req.end()) return std::nullopt;
    if (req.version() < 11) {
        // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
        return bad("Transfer-Encoding is not allowed on an HTTP/1.0 request.");
    }
    if (req.find(bhttp::field::content_length) != req.end()) {
        return bad("A request must not carry both Transfer-Encoding and Content-Length.");
    }
    std::vector<std::string_view> codings;
    if (!transfer_codings(req, codings) || codings.empty()) return bad("The Transfer-Encoding header is not valid.");
    if (!iequals(codings.back(), "chunked")) {
        // RFC 9112 §6.3: without chunked as the final coding, the body's length cannot be known.
        return bad("The final Transfer-Encoding of a request must be chunked.");
    }
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
        if (iequals(codings[i], "chunked")) return bad("The chunked transfer coding must be applied only once.");
    }
    if (codings.size() > 1) {
        return framing_error{util::error_code::not_implemented,
                             "Transfer-Encoding " + std::string(codings.front()) +
                                 " is not supported; send the body chunked or with a Content-Length."};
    }
    // Exactly one field saying exactly "chunked": the form Beast's parser also reads as
    // chunked, so the two can never disagree on where the body ends.
    if (req.count(bhttp::field::transfer_encoding) != 1 ||
        !iequals(trim_ows(std::string_view(req[bhttp::field::transfer_encoding].data(), req[bhttp::field::transfer_encoding].size())), "chunked")) {
        return bad("The Transfer-Encoding header is not valid; send \"Transfer-Encoding: chunked\".");
    }
    return std::nullopt;
}

std::optional<framing_error> check_host(request& req) {
    std::size_t count = 0;
    std::string_view value;
    for (const auto& field : req) {
        if (field.name() != bhttp::field::host) continue;
        ++count;
        value = std::string_view(field.value().data(), field.value().size());
    }
    // RFC 9112 §3.2: a 1.1 request needs one Host; no request may carry more than one.
    if (count == 0 && req.version() >= 11) return bad("An HTTP/1.1 request must carry a Host header.");
    if (count > 1) return bad("A request must carry only one Host header.");
    if (count == 1 && !is_valid_host(value)) return bad("The Host header is not a valid host.");
    return std::nullopt;
}

/// @brief RFC 9112 §3.2: origin-form, absolute-form (http or https) or `*`; bytes are
/// visible ASCII. An absolute-form target becomes origin-form with its authority as Host.
std::optional<framing_error> check_target(request& req) {
    const auto raw = req.target();
    const std::string_view target(raw.data(), raw.size());
    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return bad("The request target must be ASCII without spaces or controls; percent-encode other bytes.");
    }
    if (target.starts_with('/') || target == "*") return std::nullopt;
    std::size_t scheme = 0;
    if (target.size() > 7 && iequals(target.substr(0, 7), "http://")) scheme = 7;
    if (target.size() > 8 && iequals(target.substr(0, 8), "https://")) scheme = 8;
    if (scheme == 0) return bad("The request target must be a path or an absolute http(s) URI.");
    const auto rest = target.substr(scheme);
    const auto path_start = std::min(rest.find('/'), rest.find('?'));
    const auto authority = rest.substr(0, path_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos || !is_valid_host(authority)) {
        return bad("The authority of the request target is not a valid host.");
    }
    std::string origin = path_start == std::string_view::npos ? std::string("/") : std::string(rest.substr(path_start));
    if (origin.front() == '?') origin.insert(origin.begin(), '/');
    // The target's authority wins over the Host header (RFC 9112 §3.2.2).
    req.set(bhttp::field::host, std::string(authority));
    req.target(origin);
    return std::nullopt;
}

}  // namespace

head_scan scan_head(std::string_view data, std::size_t from) noexcept {
    head_scan result;
    for (std::size_t i = from; i < data.size(); ++i) {
        const char c = data[i];
        if (c == '\n' && (i == 0 || data[i - 1] != '\r')) {
            result.error = bad("Lines of a request head must end with CRLF.");
            return result;
        }
        if (c == '\r' && i + 1 < data.size() && data[i + 1] != '\n') {
            result.error = bad("Lines of a request head must end with CRLF.");
            return result;
        }
        if (c == '\n' && i >= 3 && data[i - 2] == '\n') {
            result.end = i + 1;
            return result;
        }
    }
    return result;
}

std::optional<framing_error> check_head_bytes(std::string_view block) noexcept {
    // Every line but the request line starts a field or is the final empty line; one
    // starting with SP or HTAB is an obs-fold (or whitespace before the first field).
    for (std::size_t i = 0; i + 1 < block.size(); ++i) {
        if (block[i] == '\n' && (block[i + 1] == ' ' || block[i + 1] == '\t')) {
            return bad("Folded header lines (obs-fold) are not accepted; send each field on one line.");
        }
    }
    return std::nullopt;
}

std::optional<framing_error> check_request_head(request& req) {
    if (req.version() < 10 || req.version() > 19) {
        return framing_error{util::error_code::http_version_not_supported, "Only HTTP/1.0 and HTTP/1.1 are served."};
    }
    if (auto e = check_transfer_encoding(req)) return e;
    if (auto e = check_host(req)) return e;
    return check_target(req);
}

bool is_valid_host(std::string_view host) noexcept {
    if (host.empty()) return true;
    std::string_view port;
    bool has_port = false;
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close + 1 > 47) return false;
        const std::string literal(host.substr(1, close - 1));
        in6_addr addr{};
        if (::inet_pton(AF_INET6, literal.c_str(), &addr) != 1) return false;
        const auto after = host.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            has_port = true;
            port = after.substr(1);
        }
    } else {
        const auto colon = host.find(':');
        if (colon != std::string_view::npos) {
            has_port = true;
            port = host.substr(colon + 1);
        }
        if (!is_valid_host_name(host.substr(0, colon))) return false;
    }
    return !has_port || is_valid_port(port);
}

}  // namespace cc::web
