#include "package/signature.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::package {
namespace {

using ::testing::HasSubstr;

const PrivateKey& SignatureTestKey() {
  static const PrivateKey key = *PrivateKey::Generate(2048);
  return key;
}

TEST(Signature, SignAndVerify) {
  auto signature = SignatureTestKey().SignBase64("metadata bytes");
  ASSERT_TRUE(signature);
  auto public_key = PublicKey::FromPem(SignatureTestKey().PublicPem());
  ASSERT_TRUE(public_key) << public_key.error().message();
  EXPECT_TRUE(public_key->VerifyBase64("metadata bytes", *signature));
  auto wrong = public_key->VerifyBase64("metadata bytez", *signature);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Errc::kSignature);
  // RSA PKCS#1 v1.5 is deterministic: the same bytes give the same signature.
  EXPECT_EQ(*SignatureTestKey().SignBase64("metadata bytes"), *signature);
}

TEST(Signature, VerifiesUhuConformanceSignature) {
  UH_UPSTREAM_PACKAGES(dir);
  auto key = PublicKey::Load(dir / "key.pub");
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->bits(), 2048);
  const std::string metadata = testing::ReadFile(dir / "signed.metadata.json");
  auto private_key = PrivateKey::Load(dir / "key.pem");
  ASSERT_TRUE(private_key) << private_key.error().message();
  auto signature = private_key->SignBase64(metadata);
  ASSERT_TRUE(signature);
  EXPECT_TRUE(key->VerifyBase64(metadata, *signature));
  EXPECT_EQ(private_key->PublicPem(), key->ToPem());
}

TEST(Signature, CorruptedSignatures) {
  auto key = PublicKey::FromPem(SignatureTestKey().PublicPem());
  std::string signature = *SignatureTestKey().SignBase64("data");
  signature[10] = signature[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(key->VerifyBase64("data", signature).error().code(), Errc::kSignature);
  EXPECT_EQ(key->VerifyBase64("data", "").error().code(), Errc::kSignature);
  EXPECT_EQ(key->VerifyBase64("data", "!!!!").error().code(), Errc::kMalformed);
  EXPECT_EQ(key->VerifyBase64("data", "YWJj").error().code(), Errc::kSignature);
  const std::string huge = std::string(40000, 'A');
  EXPECT_EQ(key->VerifyBase64("data", huge).error().code(), Errc::kSignature);
}

TEST(Signature, KeyFormats) {
  // PKCS#1 private key and PKCS#1 public key, converted by the openssl tool.
  testing::TempDir dir;
  testing::WriteFile(dir / "k.pem", SignatureTestKey().ToPkcs8Pem());
  auto rsa = testing::Run({"openssl", "rsa", "-in", (dir / "k.pem").string(), "-traditional",
                           "-out", (dir / "pkcs1.pem").string()});
  ASSERT_EQ(rsa.status, 0) << rsa.err;
  EXPECT_THAT(testing::ReadFile(dir / "pkcs1.pem"), HasSubstr("BEGIN RSA PRIVATE KEY"));
  EXPECT_TRUE(PrivateKey::Load(dir / "pkcs1.pem"));
  auto pub = testing::Run({"openssl", "rsa", "-in", (dir / "k.pem").string(), "-RSAPublicKey_out",
                           "-out", (dir / "pkcs1.pub").string()});
  ASSERT_EQ(pub.status, 0) << pub.err;
  auto key = PublicKey::Load(dir / "pkcs1.pub");
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_TRUE(key->VerifyBase64("x", *SignatureTestKey().SignBase64("x")));
}

TEST(Signature, RejectsWhatIsNotAnAcceptableKey) {
  testing::TempDir dir;
  EXPECT_EQ(PublicKey::FromPem("hello").error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromPem("hello").error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  // A private key is not a public key file.
  EXPECT_FALSE(PublicKey::FromPem(SignatureTestKey().ToPkcs8Pem()));
  EXPECT_EQ(PublicKey::Load(dir / "missing").error().code(), Errc::kNotFound);
  testing::WriteFile(dir / "big", std::string(1 << 20, 'A'));
  EXPECT_EQ(PublicKey::Load(dir / "big").error().code(), Errc::kTooLarge);

  // Weak and non-RSA keys.
  auto small = testing::Run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                             "rsa_keygen_bits:1024", "-out", (dir / "small.pem").string()});
  ASSERT_EQ(small.status, 0) << small.err;
  auto weak = PrivateKey::Load(dir / "small.pem");
  ASSERT_FALSE(weak);
  EXPECT_THAT(weak.error().message(), HasSubstr("at least 2048"));
  auto ec = testing::Run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-out", (dir / "ec.pem").string()});
  ASSERT_EQ(ec.status, 0) << ec.err;
  auto not_rsa = PrivateKey::Load(dir / "ec.pem");
  ASSERT_FALSE(not_rsa);
  EXPECT_THAT(not_rsa.error().message(), HasSubstr("not an RSA key"));

  // Encrypted keys are refused without prompting (stdin is /dev/null in CI anyway).
  auto enc =
      testing::Run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-aes256", "-pass", "pass:secret", "-out", (dir / "enc.pem").string()});
  ASSERT_EQ(enc.status, 0) << enc.err;
  auto encrypted = PrivateKey::Load(dir / "enc.pem");
  ASSERT_FALSE(encrypted);
  EXPECT_THAT(encrypted.error().message(), HasSubstr("encrypted"));
}

TEST(Signature, GenerateRejectsBadSizes) {
  EXPECT_FALSE(PrivateKey::Generate(1024));
  EXPECT_FALSE(PrivateKey::Generate(100000));
}

TEST(Signature, FingerprintIsStable) {
  auto a = PublicKey::FromPem(SignatureTestKey().PublicPem());
  auto b = PublicKey::FromPem(a->ToPem());
  EXPECT_EQ(a->Fingerprint().size(), 64u);
  EXPECT_EQ(a->Fingerprint(), b->Fingerprint());
}

}  // namespace
}  // namespace uh::package
