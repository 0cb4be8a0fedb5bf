#include "cc/auth/admin_auth.hpp"

#include "cc/util/crypto.hpp"

namespace cc::auth {
namespace {

std::string raw_sha256(std::string_view text) {
    const auto digest = util::sha256(text);
    return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

admin_authenticator::admin_authenticator(const std::vector<std::string>& tokens) {
    for (const auto& token : tokens) {
        if (!token.empty()) {
            tokens_.push_back({raw_sha256(token), token_id(token)});
        }
    }
}

std::optional<std::string> admin_authenticator::authenticate(std::string_view authorization) const {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() ||
        !iequals_ascii(authorization.substr(0, scheme.size()), scheme)) {
        return std::nullopt;
    }
    // Hashing first gives equal-length inputs, so the comparison time says nothing
    // about the token's length or how much of it matched.
    const std::string presented = raw_sha256(authorization.substr(scheme.size()));
    std::optional<std::string> match;
    for (const auto& entry : tokens_) {
        if (util::constant_time_equal(presented, entry.hash)) {
            match = entry.id;
        }
    }
    return match;
}

void admin_authenticator::answer_failure(const std::string& client_ip, bool credentials_sent,
                                         std::function<void()> answer) const {
    if (!throttle_ || !credentials_sent || !enabled()) return answer();
    throttle_->answer_failure(client_ip, std::move(answer));
}

std::string admin_authenticator::token_id(std::string_view token) {
    return "adm_" + util::sha256_hex(token).substr(0, 8);
}

}  // namespace cc::auth
