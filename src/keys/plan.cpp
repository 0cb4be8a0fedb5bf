#include "cc/keys/plan.hpp"

#include <array>
#include <utility>

namespace cc::keys {
namespace {

struct plan_limit {
    std::string_view name;
    std::optional<int> limit;
};

constexpr std::array<plan_limit, 4> plans = {{
    {"pulse", 2},
    {"signal", 5},
    {"clarity", 10},
    {"command", std::nullopt},
}};

const plan_limit* find(std::string_view plan) noexcept {
    for (const auto& p : plans) {
        if (p.name == plan) return &p;
    }
    return nullptr;
}

}  // namespace

bool is_plan(std::string_view plan) noexcept {
    return find(plan) != nullptr;
}

std::optional<int> key_limit(std::string_view plan) noexcept {
    const auto* p = find(plan);
    return p ? p->limit : std::optional<int>(0);
}

bool may_add_key(std::string_view plan, long long active_keys) noexcept {
    const auto limit = key_limit(plan);
    return !limit || active_keys < *limit;
}

}  // namespace cc::keys
