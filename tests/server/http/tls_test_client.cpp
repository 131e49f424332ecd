#include "server/http/tls_test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "support/test_support.hpp"

namespace uh::server::http::testing {
namespace {

std::string Errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    out += std::string(out.empty() ? "" : "; ") + text;
  }
  return out.empty() ? "failed" : out;
}

std::string Fingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &size) != 1) {
    return "";
  }
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

void SetTimeout(int fd, std::chrono::seconds timeout) {
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count()), .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

TlsClient::TlsClient(std::uint16_t port, const TlsOffer& offer) {
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) {
    error_ = "SSL_CTX_new: " + Errors();
    return;
  }
  SSL_CTX_set_security_level(ctx_, 0);  // let the test offer what a careless client would
  if (SSL_CTX_set_min_proto_version(ctx_, offer.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx_, offer.max_version) != 1 ||
      SSL_CTX_set_cipher_list(ctx_, offer.ciphers.c_str()) != 1 ||
      (!offer.ciphersuites.empty() &&
       SSL_CTX_set_ciphersuites(ctx_, offer.ciphersuites.c_str()) != 1)) {
    error_ = "client setup: " + Errors();
    return;
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SetTimeout(fd_, std::chrono::seconds(5));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    error_ = "connect failed";
    return;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    error_ = "handshake: " + Errors();
    return;
  }
  connected_ = true;
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string TlsClient::cipher() const {
  return connected_ ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)) : "";
}

std::string TlsClient::version() const { return connected_ ? SSL_get_version(ssl_) : ""; }

std::string TlsClient::fingerprint() const {
  if (!connected_) return "";
  X509* certificate = SSL_get1_peer_certificate(ssl_);
  std::string out = Fingerprint(certificate);
  X509_free(certificate);
  return out;
}

std::string TlsClient::Exchange(std::string_view request, std::chrono::seconds timeout) {
  if (!connected_) return "";
  SetTimeout(fd_, timeout);
  if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return "";
  std::string out;
  char buffer[4096];
  for (int n; (n = SSL_read(ssl_, buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  return out;
}

std::string MakeCertificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                            bool rsa) {
  std::vector<std::string> argv{"openssl", "req", "-x509", "-newkey"};
  if (rsa) {
    argv.insert(argv.end(), {"rsa:2048"});
  } else {
    argv.insert(argv.end(), {"ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"});
  }
  argv.insert(argv.end(),
              {"-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "1", "-subj",
               "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  const auto result = uh::testing::Run(argv);
  return result.status == 0 ? "" : "openssl req: " + result.err;
}

std::string CertificateFingerprint(const std::filesystem::path& pem) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(pem.c_str(), "r"), &std::fclose);
  if (!file) return "";
  X509* certificate = PEM_read_X509(file.get(), nullptr, nullptr, nullptr);
  std::string out = Fingerprint(certificate);
  X509_free(certificate);
  return out;
}

}  // namespace uh::server::http::testing
