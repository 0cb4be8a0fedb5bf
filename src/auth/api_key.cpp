#include "cc/auth/api_key.hpp"

#include <zlib.h>

#include <algorithm>

#include "cc/util/base62.hpp"

namespace cc::auth {

std::string api_key_checksum(std::string_view random_part) {
    const auto crc = ::crc32(0L, reinterpret_cast<const Bytef*>(random_part.data()),
                             static_cast<uInt>(random_part.size()));
    return util::base62_encode(crc, api_key_format::checksum_length);
}

generated_key generate_api_key(util::random_source& random) {
    const std::string random_part = util::random_base62(random, api_key_format::random_length);
    generated_key key;
    key.value.reserve(api_key_format::length);
    key.value.append(api_key_format::tag);
    key.value.append(random_part);
    key.value.append(api_key_checksum(random_part));
    key.prefix = api_key_prefix(key.value);
    key.hash = util::sha256(key.value);
    return key;
}

bool is_well_formed_api_key(std::string_view text) noexcept {
    if (text.size() != api_key_format::length || !text.starts_with(api_key_format::tag)) {
        return false;
    }
    const auto body = text.substr(api_key_format::tag.size());
    if (!std::all_of(body.begin(), body.end(), util::is_base62)) {
        return false;
    }
    const auto random_part = body.substr(0, api_key_format::random_length);
    const auto checksum = body.substr(api_key_format::random_length);
    return api_key_checksum(random_part) == checksum;
}

std::string api_key_prefix(std::string_view key) {
    return std::string(key.substr(0, api_key_format::prefix_length));
}

std::string generate_key_id(util::random_source& random) {
    return "key_" + util::random_base62(random, 20);
}

}  // namespace cc::auth
