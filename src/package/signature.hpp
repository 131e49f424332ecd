#pragma once

// UpdateHub package signatures: RSA PKCS#1 v1.5 over SHA-256 of the exact metadata bytes,
// carried as one line of base64. Keys are PEM files.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::package {

// RSA keys shorter than this are refused: they no longer protect a fleet.
inline constexpr int kMinRsaBits = 2048;

class PrivateKey {
 public:
  // PEM: PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"); encrypted keys are refused.
  [[nodiscard]] static Expected<PrivateKey> FromPem(std::string_view pem);
  [[nodiscard]] static Expected<PrivateKey> Load(const std::filesystem::path& path);
  [[nodiscard]] static Expected<PrivateKey> Generate(int bits);

  [[nodiscard]] int bits() const;
  [[nodiscard]] std::string ToPkcs8Pem() const;
  // SubjectPublicKeyInfo PEM of the matching public key (what a device holds as key.pub).
  [[nodiscard]] std::string PublicPem() const;
  // Base64 of the signature over `data`.
  [[nodiscard]] Expected<std::string> SignBase64(std::string_view data) const;

  struct Impl;
  explicit PrivateKey(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

class PublicKey {
 public:
  // PEM: SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
  [[nodiscard]] static Expected<PublicKey> FromPem(std::string_view pem);
  [[nodiscard]] static Expected<PublicKey> Load(const std::filesystem::path& path);

  [[nodiscard]] int bits() const;
  [[nodiscard]] std::string ToPem() const;
  // sha256 of the DER SubjectPublicKeyInfo: a stable id to show and compare keys.
  [[nodiscard]] std::string Fingerprint() const;
  // Succeeds when `signature_base64` is a valid signature of `data`; fails with kSignature
  // (or kMalformed when the base64 itself is broken).
  [[nodiscard]] Expected<void> VerifyBase64(std::string_view data,
                                            std::string_view signature_base64) const;

  struct Impl;
  explicit PublicKey(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace uh::package
