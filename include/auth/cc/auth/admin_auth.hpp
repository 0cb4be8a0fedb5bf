#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cc/auth/failure_throttle.hpp"

namespace cc::auth {

/// @brief Checks admin bearer tokens. Tokens are kept only as SHA-256 hashes and
/// compared in constant time; each has a non-secret id used as the audit actor.
class admin_authenticator {
public:
    /// @param tokens the configured admin tokens (may be empty: then nothing is accepted)
    explicit admin_authenticator(const std::vector<std::string>& tokens);

    /// @brief The token's id when `authorization` is `Bearer <a configured token>`.
    std::optional<std::string> authenticate(std::string_view authorization) const;

    /// @brief True when at least one token is configured.
    bool enabled() const noexcept { return !tokens_.empty(); }

    /// @brief The non-secret id of a token: `adm_` + the first 8 hex digits of its SHA-256.
    static std::string token_id(std::string_view token);

    /// @brief Repeated failures are answered through `throttle` (null: at once).
    void set_throttle(failure_throttle* throttle) noexcept { throttle_ = throttle; }

    /// @brief Delivers the answer to a failed authentication: at once, or later when the
    /// client's address keeps failing. A request without credentials (nothing guessed)
    /// and a disabled admin API (nothing to guess) are never delayed.
    void answer_failure(const std::string& client_ip, bool credentials_sent, std::function<void()> answer) const;

private:
    failure_throttle* throttle_ = nullptr;
    struct entry {
        std::string hash;  ///< raw SHA-256 bytes of the token
        std::string id;
    };
    std::vector<entry> tokens_;
};

}  // namespace cc::auth
