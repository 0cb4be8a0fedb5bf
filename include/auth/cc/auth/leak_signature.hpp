#pragma once
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cc::auth {

/// @brief The public keys GitHub signs secret-scanning alerts with, by key identifier,
/// read from a JSON file shaped as GitHub publishes them:
/// `{"public_keys":[{"key_identifier":"...","key":"-----BEGIN PUBLIC KEY-----...","is_current":true}]}`.
class leak_report_keys {
public:
    /// @brief Reads and checks the file; throws std::runtime_error naming the problem.
    static std::shared_ptr<const leak_report_keys> load(const std::string& path);
    /// @brief Builds from the file's JSON text; throws std::runtime_error naming the problem.
    static std::shared_ptr<const leak_report_keys> parse(std::string_view json_text);

    std::size_t size() const noexcept { return keys_.size(); }

    /// @brief Why verification failed, or empty when the signature is good.
    enum class verdict { good, unknown_key, malformed_signature, bad_signature };

    /// @brief Checks an ECDSA P-256 / SHA-256 signature (base64 of DER) over `body`,
    /// with the key named by `key_identifier`.
    verdict verify(std::string_view key_identifier, std::string_view signature_base64, std::string_view body) const;

private:
    struct pkey_deleter {
        void operator()(void* key) const noexcept;
    };
    std::map<std::string, std::shared_ptr<void>, std::less<>> keys_;  ///< EVP_PKEY by identifier
};

/// @brief Strict base64 (standard alphabet, padding optional); nullopt-like empty flag on error.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace cc::auth
