#pragma once
#include <cstddef>
#include <string>

namespace cc::util {

/// @brief Source of secret randomness; an interface so tests can fix it.
class random_source {
public:
    virtual ~random_source() = default;
    /// @brief Fills `out` with `size` random bytes; throws std::runtime_error on failure.
    virtual void fill(unsigned char* out, std::size_t size) = 0;
};

/// @brief OpenSSL's CSPRNG (RAND_bytes).
class openssl_random final : public random_source {
public:
    void fill(unsigned char* out, std::size_t size) override;
};

/// @brief The process-wide CSPRNG.
random_source& system_random();

/// @brief `count` unbiased base62 characters drawn from `random` (rejection sampling).
std::string random_base62(random_source& random, std::size_t count);

}  // namespace cc::util
