#include "cc/util/random.hpp"

#include <openssl/rand.h>

#include <limits>
#include <stdexcept>

#include "cc/util/base62.hpp"

namespace cc::util {

void openssl_random::fill(unsigned char* out, std::size_t size) {
    if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        RAND_bytes(out, static_cast<int>(size)) != 1) {
        throw std::runtime_error("the CSPRNG failed to produce random bytes");
    }
}

random_source& system_random() {
    static openssl_random source;
    return source;
}

std::string random_base62(random_source& random, std::size_t count) {
    // Rejection sampling: 248 = 4 * 62, so bytes below it map evenly onto the alphabet.
    constexpr unsigned limit = 248;
    std::string out;
    out.reserve(count);
    unsigned char pool[64];
    while (out.size() < count) {
        random.fill(pool, sizeof pool);
        for (unsigned char byte : pool) {
            if (byte < limit && out.size() < count) {
                out.push_back(base62_alphabet[byte % 62]);
            }
        }
    }
    return out;
}

}  // namespace cc::util
