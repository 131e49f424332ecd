#include "server/device_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "server/auth.hpp"

namespace uh::server {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr FromDer(const std::string& der) {
  const auto* data = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &data, static_cast<long>(der.size())));
}

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> ReadPem(const std::string& pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return out;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(certificate);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

std::string AsnText(const ASN1_STRING* text) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                     static_cast<std::size_t>(ASN1_STRING_length(text)));
}

std::vector<std::string> SubjectNames(X509* certificate) {
  std::vector<std::string> names;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
    names.push_back(AsnText(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  }
  auto* alt = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; alt != nullptr && i < sk_GENERAL_NAME_num(alt); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
    if (name->type == GEN_DNS) names.push_back(AsnText(name->d.dNSName));
    if (name->type == GEN_URI) names.push_back(AsnText(name->d.uniformResourceIdentifier));
  }
  GENERAL_NAMES_free(alt);
  return names;
}

}  // namespace

bool IsDeviceAuthMode(std::string_view mode) {
  return mode == kAuthNone || mode == kAuthProductToken || mode == kAuthDeviceToken ||
         mode == kAuthMtls;
}

bool IsEnrolmentMode(std::string_view mode) {
  return mode == kEnrolOff || mode == kEnrolManual || mode == kEnrolAuto;
}

bool IsDeviceSecret(std::string_view secret) {
  if (secret.size() != 64) return false;
  for (const char c : secret) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool SecretMatches(std::string_view secret, const std::string& stored_hash) {
  if (secret.empty() || stored_hash.empty()) return false;
  const std::string hash = TokenHash(std::string(secret));
  return hash.size() == stored_hash.size() &&
         CRYPTO_memcmp(hash.data(), stored_hash.data(), hash.size()) == 0;
}

std::string CertificateIdentity(const nlohmann::json& identity, const std::string& canonical) {
  if (identity.is_object() && identity.size() == 1 && identity.begin()->is_string()) {
    return identity.begin()->get<std::string>();
  }
  return canonical;
}

Expected<void> CheckClientCa(const std::string& pem) {
  const auto certificates = ReadPem(pem);
  if (certificates.empty()) {
    return Fail(Errc::kInvalidArgument, "'client_ca' holds no PEM certificate");
  }
  for (const auto& certificate : certificates) {
    if (X509_check_ca(certificate.get()) == 0) {
      return Fail(Errc::kInvalidArgument, "'client_ca' holds a certificate that is not a CA");
    }
  }
  return {};
}

Expected<std::vector<std::string>> VerifyClientCertificate(const std::string& ca_pem,
                                                           const std::vector<std::string>& chain) {
  if (chain.empty()) return Fail(Errc::kForbidden, "no client certificate");
  X509Ptr leaf = FromDer(chain.front());
  if (!leaf) return Fail(Errc::kForbidden, "unreadable client certificate");
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (X509Ptr certificate = FromDer(chain[i])) {
      if (sk_X509_push(untrusted.get(), certificate.get()) > 0) certificate.release();
    }
  }
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  for (const auto& ca : ReadPem(ca_pem)) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> context(X509_STORE_CTX_new());
  if (!store || !context ||
      X509_STORE_CTX_init(context.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    ERR_clear_error();
    return Fail(Errc::kInternal, "cannot set up certificate verification");
  }
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(context.get()) != 1) {
    const int reason = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    return Fail(Errc::kForbidden, std::string("the client certificate does not verify: ") +
                                      X509_verify_cert_error_string(reason));
  }
  return SubjectNames(leaf.get());
}

}  // namespace uh::server
