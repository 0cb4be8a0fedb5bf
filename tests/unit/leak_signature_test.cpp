#include "cc/auth/leak_signature.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

using cc::auth::leak_report_keys;

namespace {

struct key_pair {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), EVP_PKEY_free};

    std::string public_pem() const {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PUBKEY(bio.get(), key.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(n));
    }

    std::string sign_base64(const std::string& body) const {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get());
        std::size_t n = 0;
        EVP_DigestSign(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(body.data()), body.size());
        std::string der(n, '\0');
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &n,
                       reinterpret_cast<const unsigned char*>(body.data()), body.size());
        der.resize(n);
        std::string b64(4 * ((n + 2) / 3) + 1, '\0');
        const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                        reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(n));
        b64.resize(static_cast<std::size_t>(len));
        return b64;
    }
};

std::shared_ptr<const leak_report_keys> keys_file(const std::string& id, const key_pair& pair) {
    return leak_report_keys::parse(
        nlohmann::json{{"public_keys", {{{"key_identifier", id}, {"key", pair.public_pem()}, {"is_current", true}}}}}.dump());
}

}  // namespace

TEST(LeakSignature, GoodSignatureOverTheRawBodyVerifies) {
    key_pair github;
    const auto keys = keys_file("k1", github);
    const std::string body = R"([{"token":"cc_x","type":"t","url":"u","source":"content"}])";
    EXPECT_EQ(keys->verify("k1", github.sign_base64(body), body), leak_report_keys::verdict::good);
}

TEST(LeakSignature, OtherBytesOtherKeyOrUnknownIdentifierFail) {
    key_pair github, other;
    const auto keys = keys_file("k1", github);
    const std::string body = "[]";
    EXPECT_EQ(keys->verify("k1", github.sign_base64(body), body + " "), leak_report_keys::verdict::bad_signature);
    EXPECT_EQ(keys->verify("k1", other.sign_base64(body), body), leak_report_keys::verdict::bad_signature);
    EXPECT_EQ(keys->verify("k2", github.sign_base64(body), body), leak_report_keys::verdict::unknown_key);
    EXPECT_EQ(keys->verify("k1", "***", body), leak_report_keys::verdict::malformed_signature);
    EXPECT_EQ(keys->verify("k1", "", body), leak_report_keys::verdict::malformed_signature);
    EXPECT_EQ(keys->verify("k1", "AAAA", body), leak_report_keys::verdict::bad_signature);
}

TEST(LeakSignature, KeysFileMustBeGithubShaped) {
    key_pair github;
    EXPECT_THROW(leak_report_keys::parse("{}"), std::runtime_error);
    EXPECT_THROW(leak_report_keys::parse("not json"), std::runtime_error);
    EXPECT_THROW(leak_report_keys::parse(R"({"public_keys":[{"key_identifier":"a","key":"nope"}]})"), std::runtime_error);
    EXPECT_THROW(leak_report_keys::parse(R"({"public_keys":[{"key":"x"}]})"), std::runtime_error);
    EXPECT_EQ(keys_file("a", github)->size(), 1u);
}

TEST(LeakSignature, Base64IsStrict) {
    std::string out;
    EXPECT_TRUE(cc::auth::base64_decode("aGVsbG8=", out));
    EXPECT_EQ(out, "hello");
    EXPECT_TRUE(cc::auth::base64_decode("aGVsbG8", out));
    EXPECT_EQ(out, "hello");
    EXPECT_FALSE(cc::auth::base64_decode("aGVs bG8=", out));
    EXPECT_FALSE(cc::auth::base64_decode("aGVsbG9=", out)) << "non-zero padding bits";
    EXPECT_FALSE(cc::auth::base64_decode("a", out));
}
