#pragma once

// How devices prove who they are, as plain functions (docs/device-authentication.md): the
// settings a product may take, the secret a device-token device sends, and the rule by which a
// client certificate names a device (mtls). The HTTP side is in device_api.cpp.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "protocol/names.hpp"

namespace uh::server {

// The header a device of a device-token product sends its own secret in.
using protocol::kDeviceTokenHeader;

// Product::device_auth values.
inline constexpr std::string_view kAuthNone = "none";
inline constexpr std::string_view kAuthProductToken = "product-token";
inline constexpr std::string_view kAuthDeviceToken = "device-token";
inline constexpr std::string_view kAuthMtls = "mtls";
// Product::enrolment values.
inline constexpr std::string_view kEnrolOff = "off";
inline constexpr std::string_view kEnrolManual = "manual";
inline constexpr std::string_view kEnrolAuto = "auto";
// Device::auth_state values.
inline constexpr std::string_view kDeviceAccepted = "accepted";
inline constexpr std::string_view kDevicePending = "pending";
inline constexpr std::string_view kDeviceRejected = "rejected";

[[nodiscard]] bool IsDeviceAuthMode(std::string_view mode);
[[nodiscard]] bool IsEnrolmentMode(std::string_view mode);

// A device secret as agents make them: 64 lowercase hex digits (256 random bits).
[[nodiscard]] bool IsDeviceSecret(std::string_view secret);

// Whether `secret` hashes (TokenHash) to `stored_hash`, compared in constant time; false when
// either is empty.
[[nodiscard]] bool SecretMatches(std::string_view secret, const std::string& stored_hash);

// The name a device certificate must carry for this identity (an object of key -> string or
// array of strings): the value itself when the identity is one key with one string value,
// otherwise the identity's canonical JSON text (sorted keys, as stored).
[[nodiscard]] std::string CertificateIdentity(const nlohmann::json& identity,
                                              const std::string& canonical);

// kInvalidArgument unless `pem` holds at least one CA certificate (basic constraints CA:TRUE).
[[nodiscard]] Expected<void> CheckClientCa(const std::string& pem);

// Verifies a client certificate chain (DER, the client's own first) against the CA
// certificates of `ca_pem` alone, for TLS client use, and returns the names the certificate
// gives its subject: the common name, then DNS and URI subject alternative names.
// kForbidden (with OpenSSL's reason) when it does not verify.
[[nodiscard]] Expected<std::vector<std::string>> VerifyClientCertificate(
    const std::string& ca_pem, const std::vector<std::string>& chain);

}  // namespace uh::server
