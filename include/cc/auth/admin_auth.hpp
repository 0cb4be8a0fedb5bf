#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

private:
    struct entry {
        std::string hash;  ///< raw SHA-256 bytes of the token
        std::string id;
    };
    std::vector<entry> tokens_;
};

}  // namespace cc::auth
