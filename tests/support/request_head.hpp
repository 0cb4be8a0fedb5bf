#pragma once
#include <string>
#include <utility>
#include <vector>

#include "cc/web/message.hpp"

namespace cc::testing {

/// @brief A request head with `fields` inserted in the order given (repeated names kept),
/// as a parser would hand it over.
inline web::request head(web::bhttp::verb method, std::string target, unsigned version,
                         std::vector<std::pair<std::string, std::string>> fields) {
    web::request req{method, target, version};
    for (const auto& [name, value] : fields) req.insert(name, value);
    return req;
}

}  // namespace cc::testing
