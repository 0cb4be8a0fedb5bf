#pragma once
#include <optional>
#include <string_view>

namespace cc::keys {

/// @brief True for pulse, signal, clarity or command.
bool is_plan(std::string_view plan) noexcept;

/// @brief How many active keys the plan allows; nullopt for unlimited (command).
std::optional<int> key_limit(std::string_view plan) noexcept;

/// @brief True when a domain on `plan` with `active_keys` may have one more.
bool may_add_key(std::string_view plan, long long active_keys) noexcept;

}  // namespace cc::keys
