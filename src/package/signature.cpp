#include "package/signature.hpp"

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <vector>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::package {
namespace {

// Key files are small; anything bigger is not a key.
constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

// Never prompts on the terminal for a passphrase: a tool must not hang waiting for one.
int NoPassphrase(char*, int, int, void* called) {
  *static_cast<bool*>(called) = true;
  return -1;
}

BioPtr MemoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Expected<void> CheckRsa(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return Fail(Errc::kInvalidArgument, "key is not an RSA key (UpdateHub signatures are RSA)");
  }
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    return Fail(Errc::kInvalidArgument, "RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                                            " bits; at least " + std::to_string(kMinRsaBits) +
                                            " are required");
  }
  return {};
}

}  // namespace

struct PrivateKey::Impl {
  PkeyPtr key;
};
struct PublicKey::Impl {
  PkeyPtr key;
};

Expected<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  if (pem.find("-----BEGIN") == std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "not a PEM private key");
  }
  auto bio = MemoryBio(pem);
  bool asked_passphrase = false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, &asked_passphrase));
  if (!key) {
    if (asked_passphrase) {
      ERR_clear_error();
      return Fail(Errc::kUnsupported,
                  "private key is encrypted; decrypt it first "
                  "(openssl pkey -in KEY -out PLAIN)");
    }
    return Fail(Errc::kInvalidArgument, "not a PEM private key (" + OpenSslError() + ")");
  }
  UH_TRY(CheckRsa(key.get()));
  return PrivateKey(std::make_shared<Impl>(Impl{std::move(key)}));
}

Expected<PrivateKey> PrivateKey::Load(const std::filesystem::path& path) {
  auto pem = ReadFileLimited(path, kMaxKeyFileBytes);
  if (!pem) return std::unexpected(pem.error().WithContext("reading private key"));
  auto key = FromPem(*pem);
  if (!key) return std::unexpected(key.error().WithContext(path.string()));
  return key;
}

Expected<PrivateKey> PrivateKey::Generate(int bits) {
  if (bits < kMinRsaBits || bits > 16384) {
    return Fail(Errc::kInvalidArgument,
                "key size must be between " + std::to_string(kMinRsaBits) + " and 16384 bits");
  }
  PkeyPtr key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) return Fail(Errc::kInternal, "generating RSA key: " + OpenSslError());
  return PrivateKey(std::make_shared<Impl>(Impl{std::move(key)}));
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(impl_->key.get()); }

std::string PrivateKey::ToPkcs8Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return BioToString(bio.get());
}

std::string PrivateKey::PublicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), impl_->key.get());
  return BioToString(bio.get());
}

Expected<std::string> PrivateKey::SignBase64(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return Fail(Errc::kInternal, "signing: " + OpenSslError());
  }
  std::size_t len = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1) {
    return Fail(Errc::kInternal, "signing: " + OpenSslError());
  }
  std::vector<std::byte> signature(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, bytes,
                     data.size()) != 1) {
    return Fail(Errc::kInternal, "signing: " + OpenSslError());
  }
  signature.resize(len);
  return Base64Encode(signature);
}

Expected<PublicKey> PublicKey::FromPem(std::string_view pem) {
  if (pem.find("-----BEGIN") == std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "not a PEM public key");
  }
  if (pem.find("PUBLIC KEY-----") == std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "not a PEM public key (no PUBLIC KEY block)");
  }
  // The decoder takes SubjectPublicKeyInfo and PKCS#1 "RSA PUBLIC KEY" alike.
  EVP_PKEY* decoded = nullptr;
  OSSL_DECODER_CTX* decoder = OSSL_DECODER_CTX_new_for_pkey(&decoded, "PEM", nullptr, "RSA",
                                                            EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  if (decoder == nullptr) return Fail(Errc::kInternal, "creating key decoder: " + OpenSslError());
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t len = pem.size();
  OSSL_DECODER_from_data(decoder, &data, &len);
  OSSL_DECODER_CTX_free(decoder);
  PkeyPtr key(decoded);
  if (!key) return Fail(Errc::kInvalidArgument, "not a PEM public key (" + OpenSslError() + ")");
  UH_TRY(CheckRsa(key.get()));
  return PublicKey(std::make_shared<Impl>(Impl{std::move(key)}));
}

Expected<PublicKey> PublicKey::Load(const std::filesystem::path& path) {
  auto pem = ReadFileLimited(path, kMaxKeyFileBytes);
  if (!pem) return std::unexpected(pem.error().WithContext("reading public key"));
  auto key = FromPem(*pem);
  if (!key) return std::unexpected(key.error().WithContext(path.string()));
  return key;
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(impl_->key.get()); }

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), impl_->key.get());
  return BioToString(bio.get());
}

std::string PublicKey::Fingerprint() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(impl_->key.get(), &der);
  if (len <= 0) return {};
  std::string fingerprint = Sha256Hex(std::string_view(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  return fingerprint;
}

Expected<void> PublicKey::VerifyBase64(std::string_view data,
                                       std::string_view signature_base64) const {
  if (signature_base64.empty()) return Fail(Errc::kSignature, "package is not signed");
  auto signature = Base64Decode(signature_base64);
  if (!signature) return std::unexpected(signature.error().WithContext("signature"));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return Fail(Errc::kInternal, "verifying: " + OpenSslError());
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
      reinterpret_cast<const unsigned char*>(data.data()), data.size());
  ERR_clear_error();
  if (ok != 1) return Fail(Errc::kSignature, "signature does not verify with the given key");
  return {};
}

}  // namespace uh::package
