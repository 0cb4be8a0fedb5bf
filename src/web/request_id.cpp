#include "cc/web/request_id.hpp"

#include <atomic>
#include <random>

#include "cc/util/base62.hpp"

namespace cc::web {

bool is_valid_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        if (!(util::is_base62(c) || c == '.' || c == '_' || c == ':' || c == '-')) return false;
    }
    return true;
}

std::string new_request_id() {
    // Request ids need to be unique, not secret: a per-thread PRNG seeded once from
    // the OS keeps this off the CSPRNG on every request.
    thread_local std::mt19937_64 engine{std::random_device{}()};
    std::string id = "req_";
    for (int i = 0; i < 2; ++i) id += util::base62_encode(engine(), 11).substr(1);
    return id;
}

}  // namespace cc::web
