#include "server/http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace uh::server::http {
namespace asio = boost::asio;
namespace {

// Named in session caches; OpenSSL requires one once client certificates are verified.
constexpr std::string_view kSessionIdContext = "updatehub-server";

// What OpenSSL queued for the last failed call, cleared.
std::string TakeOpenSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "rejected by OpenSSL" : out;
}

// AES-GCM or ChaCha20-Poly1305 and, for TLS 1.2, an ephemeral (EC)DH key exchange with an
// authenticated server (no anonymous or PSK suites). TLS 1.3 suites have no key exchange of
// their own: it is always (EC)DHE here, as SSL_OP_ALLOW_NO_DHE_KEX stays off.
bool IsForwardSecretAead(const SSL_CIPHER* cipher) {
  const int bulk = SSL_CIPHER_get_cipher_nid(cipher);
  if (bulk != NID_aes_128_gcm && bulk != NID_aes_256_gcm && bulk != NID_chacha20_poly1305) {
    return false;
  }
  const int kx = SSL_CIPHER_get_kx_nid(cipher);
  if (kx == NID_kx_any) return true;
  const int auth = SSL_CIPHER_get_auth_nid(cipher);
  return (kx == NID_kx_ecdhe || kx == NID_kx_dhe) &&
         (auth == NID_auth_rsa || auth == NID_auth_ecdsa);
}

Expected<void> SetCiphers(SSL_CTX* ctx, const TlsOptions& options) {
  const std::string ciphers =
      options.ciphers.empty() ? std::string(kDefaultTlsCiphers) : options.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return Fail(Errc::kInvalidArgument, "TLS ciphers '" + ciphers + "': " + TakeOpenSslErrors());
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
    return Fail(Errc::kInvalidArgument,
                "TLS 1.3 ciphersuites '" + options.ciphersuites + "': " + TakeOpenSslErrors());
  }
  // Refused rather than warned about: a list that lets a client pick a suite without forward
  // secrecy or with CBC and SHA-1 weakens every device of the fleet, and nobody reads warnings.
  std::string weak;
  const STACK_OF(SSL_CIPHER)* enabled = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(enabled); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(enabled, i);
    if (IsForwardSecretAead(cipher)) continue;
    if (!weak.empty()) weak += ", ";
    weak += SSL_CIPHER_get_name(cipher);
  }
  if (!weak.empty()) {
    return Fail(Errc::kInvalidArgument,
                "TLS ciphers enable suites that are not forward-secret AEAD (ECDHE or DHE with "
                "AES-GCM or ChaCha20-Poly1305): " +
                    weak);
  }
  return {};
}

// Stateless session tickets are off: OpenSSL encrypts them with one key per context that it
// never rotates, so whoever reads that key from the process can decrypt every recorded TLS 1.2
// session resumed from a ticket, which undoes forward secrecy. Sessions are still resumed
// from the server's in-memory cache (TLS 1.3 then issues stateful tickets). Devices poll every
// few minutes or hours, so a full handshake each time costs little.
constexpr long kOptions = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                          SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET;

Expected<void> UseCertificate(asio::ssl::context& context, const TlsOptions& options) {
  boost::system::error_code ec;
  context.use_certificate_chain_file(options.certificate.string(), ec);
  if (ec) {
    return Fail(Errc::kInvalidArgument,
                "TLS certificate " + options.certificate.string() + ": " + ec.message());
  }
  context.use_private_key_file(options.private_key.string(), asio::ssl::context::pem, ec);
  if (ec) {
    return Fail(Errc::kInvalidArgument,
                "TLS private key " + options.private_key.string() + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return Fail(Errc::kInvalidArgument, "TLS private key " + options.private_key.string() +
                                            " does not match the certificate");
  }
  return {};
}

}  // namespace

Expected<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const TlsOptions& options) {
  ERR_clear_error();
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return Fail(Errc::kInternal, "cannot require TLS 1.2: " + TakeOpenSslErrors());
  }
  SSL_CTX_set_options(ctx, kOptions);
  SSL_CTX_set_dh_auto(ctx, 1);  // DHE suites with parameters matching the key's strength
  if (SSL_CTX_set_session_id_context(
          ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
          static_cast<unsigned>(kSessionIdContext.size())) != 1) {
    return Fail(Errc::kInternal, "cannot set the TLS session context: " + TakeOpenSslErrors());
  }
  UH_TRY(SetCiphers(ctx, options));
  UH_TRY(UseCertificate(*context, options));
  // Ask for a client certificate, accept the handshake with any or none: the handshake cannot
  // know which product's CA applies, and devices of other products send none.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  return context;
}

std::vector<std::string> PeerCertificateChain(SSL* ssl) {
  std::vector<std::string> chain;
  auto append = [&chain](X509* certificate) {
    unsigned char* der = nullptr;
    const int size = i2d_X509(certificate, &der);
    if (size <= 0) return;
    chain.emplace_back(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
    OPENSSL_free(der);
  };
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return chain;
  append(leaf);
  // On a server this chain leaves out the client's own certificate.
  if (const STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(rest); ++i) {
      X509* certificate = sk_X509_value(rest, i);
      if (X509_cmp(certificate, leaf) != 0) append(certificate);
    }
  }
  return chain;
}

}  // namespace uh::server::http
