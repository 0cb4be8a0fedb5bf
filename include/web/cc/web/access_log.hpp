#pragma once
#include <string_view>

#include "cc/web/message.hpp"

namespace cc::web {

/// @brief Counts a request in the metrics and writes its access-log line: route, status,
/// latency, client, key prefix and domain when known, and the error code and failing field
/// names of an error answer (read back from the body every error shares, so an answer built
/// far from the connection still logs why it failed). Never a secret, never a value sent.
void log_access(const request_context& ctx, const response& res, std::string_view method, double seconds);

}  // namespace cc::web
