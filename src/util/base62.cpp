#include "cc/util/base62.hpp"

namespace cc::util {

std::string base62_encode(std::uint64_t value, std::size_t width) {
    std::string out;
    do {
        out.insert(out.begin(), base62_alphabet[value % 62]);
        value /= 62;
    } while (value != 0);
    if (out.size() < width) {
        out.insert(out.begin(), width - out.size(), '0');
    }
    return out;
}

}  // namespace cc::util
