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
    // the OS keeps this off the CSPRNG on every request. "req_" + 20 base62 digits,
    // 10 from each of two 64-bit draws (62^10 < 2^64).
    thread_local std::mt19937_64 engine{std::random_device{}()};
    std::string id(24, '\0');
    id.replace(0, 4, "req_");
    for (std::size_t half = 0; half < 2; ++half) {
        auto value = engine();
        for (std::size_t i = 0; i < 10; ++i) {
            id[4 + half * 10 + 9 - i] = util::base62_alphabet[value % 62];
            value /= 62;
        }
    }
    return id;
}

}  // namespace cc::web
