#pragma once
#include <string>
#include <vector>

#include "cc/web/message.hpp"

namespace cc::web {

/// @brief The client's address: the peer, or, when the peer is a trusted proxy, the
/// right-most X-Forwarded-For address (all fields joined in order) that is not itself a
/// trusted proxy. An entry that is not an IP address ends the walk at the peer.
std::string client_address(const std::string& peer, const request& req, const std::vector<std::string>& trusted);

}  // namespace cc::web
