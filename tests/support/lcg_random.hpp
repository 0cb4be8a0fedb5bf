#pragma once
#include <cstddef>
#include <cstdint>

#include "cc/util/random.hpp"

namespace cc::testing {

/// @brief Deterministic bytes (a 64-bit LCG), so a failing test can be reproduced.
class lcg_random final : public util::random_source {
public:
    explicit lcg_random(std::uint64_t seed) : state_(seed) {}
    void fill(unsigned char* out, std::size_t size) override {
        for (std::size_t i = 0; i < size; ++i) {
            state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
            out[i] = static_cast<unsigned char>(state_ >> 56);
        }
    }

private:
    std::uint64_t state_;
};

}  // namespace cc::testing
