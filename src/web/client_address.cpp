#include "cc/web/client_address.hpp"

#include <algorithm>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

#include "cc/util/text.hpp"

namespace cc::web {

std::string client_address(const std::string& peer, const request& req, const std::vector<std::string>& trusted) {
    if (trusted.empty() || std::find(trusted.begin(), trusted.end(), peer) == trusted.end()) return peer;
    // Every X-Forwarded-For line, in order, is one list: a client can send its own line
    // first, and our proxy appends (to the last line, or as a line of its own).
    std::string joined;
    for (const auto& field : req) {
        if (field.name() != bhttp::field::unknown || !boost::beast::iequals(field.name_string(), "X-Forwarded-For")) continue;
        if (!joined.empty()) joined += ',';
        joined.append(field.value().data(), field.value().size());
    }
    std::string_view list(joined);
    // From the right: the first address that is not one of our proxies is the client
    // as our nearest trusted proxy saw it; anything that is not an address ends the walk.
    while (!list.empty()) {
        const auto comma = list.rfind(',');
        const auto item = util::trim(comma == std::string_view::npos ? list : list.substr(comma + 1), util::ows);
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(std::string(item), ec);
        if (ec) return peer;
        auto text = address.to_string();
        if (std::find(trusted.begin(), trusted.end(), text) == trusted.end()) return text;
        if (comma == std::string_view::npos) break;
        list = list.substr(0, comma);
    }
    return peer;
}

}  // namespace cc::web
