#include "cc/auth/leak_signature.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace cc::auth {

void leak_report_keys::pkey_deleter::operator()(void* key) const noexcept {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}

bool base64_decode(std::string_view text, std::string& out) {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    out.clear();
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        const auto v = alphabet.find(c);
        if (v == std::string_view::npos) return false;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xff));
        }
    }
    // Leftover bits must be the zero padding of the last group, never a whole character.
    return count < 6 && (bits & ((1u << count) - 1)) == 0;
}

std::shared_ptr<const leak_report_keys> leak_report_keys::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the leak report keys file '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

std::shared_ptr<const leak_report_keys> leak_report_keys::parse(std::string_view json_text) {
    const auto doc = nlohmann::json::parse(json_text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("public_keys") || !doc["public_keys"].is_array()) {
        throw std::runtime_error("the leak report keys file must be a JSON object with a \"public_keys\" array");
    }
    auto keys = std::make_shared<leak_report_keys>();
    std::size_t index = 0;
    for (const auto& entry : doc["public_keys"]) {
        const auto where = "public_keys[" + std::to_string(index++) + "]";
        if (!entry.is_object() || !entry.contains("key_identifier") || !entry["key_identifier"].is_string() ||
            !entry.contains("key") || !entry["key"].is_string()) {
            throw std::runtime_error(where + " needs string fields key_identifier and key");
        }
        const auto pem = entry["key"].get<std::string>();
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
        EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
        if (!raw) throw std::runtime_error(where + ".key is not a PEM public key");
        std::shared_ptr<void> key(raw, pkey_deleter{});
        if (EVP_PKEY_base_id(raw) != EVP_PKEY_EC) throw std::runtime_error(where + ".key is not an EC (P-256) key");
        keys->keys_[entry["key_identifier"].get<std::string>()] = std::move(key);
    }
    return keys;
}

leak_report_keys::verdict leak_report_keys::verify(std::string_view key_identifier, std::string_view signature_base64,
                                                   std::string_view body) const {
    const auto it = keys_.find(key_identifier);
    if (it == keys_.end()) return verdict::unknown_key;
    std::string der;
    if (signature_base64.empty() || !base64_decode(signature_base64, der) || der.empty()) {
        return verdict::malformed_signature;
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, static_cast<EVP_PKEY*>(it->second.get())) != 1) {
        return verdict::bad_signature;
    }
    const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                    reinterpret_cast<const unsigned char*>(body.data()), body.size());
    return rc == 1 ? verdict::good : verdict::bad_signature;
}

}  // namespace cc::auth
