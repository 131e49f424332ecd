#pragma once

// A TLS client on OpenSSL itself, for what libcurl does not let a test choose: the exact
// protocol versions and suites offered, and the server certificate's fingerprint. It does not
// verify the server: the tests compare fingerprints instead.

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace uh::server::http::testing {

struct TlsOffer {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string ciphers = "ALL:@SECLEVEL=0";  // TLS 1.2 and older: everything OpenSSL has
  std::string ciphersuites{};               // TLS 1.3; empty: OpenSSL's default
};

// One connection to 127.0.0.1:`port`, handshake done in the constructor.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const TlsOffer& offer);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }
  [[nodiscard]] const std::string& error() const { return error_; }  // why the handshake failed
  [[nodiscard]] std::string cipher() const;                          // negotiated suite
  [[nodiscard]] std::string version() const;                         // "TLSv1.2", ...
  [[nodiscard]] std::string fingerprint() const;  // SHA-256 of the server's certificate, hex

  // Sends `request` and reads until the server closes (send "Connection: close").
  [[nodiscard]] std::string Exchange(std::string_view request,
                                     std::chrono::seconds timeout = std::chrono::seconds(5));

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
};

// A self-signed certificate for 127.0.0.1 and localhost, with a new RSA-2048 key (`rsa`) or
// P-256 key, made by the openssl command line; the command's error output when it fails.
[[nodiscard]] std::string MakeCertificate(const std::filesystem::path& cert,
                                          const std::filesystem::path& key, bool rsa);

// SHA-256 of the first certificate in a PEM file, hex; empty if it cannot be read.
[[nodiscard]] std::string CertificateFingerprint(const std::filesystem::path& pem);

}  // namespace uh::server::http::testing
