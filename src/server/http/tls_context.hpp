#pragma once

// The server's TLS policy in one place: one function builds the OpenSSL context from
// TlsOptions, at start and again on each reload. Clients are asked for a certificate but the
// handshake does not require or verify one: each mtls product verifies its devices' chains
// against its own CA (server/device_auth.hpp), so that other products' devices still connect.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http.hpp"

namespace uh::server::http {

// TLS 1.2 suites when none are configured: Mozilla's "intermediate" list, ECDHE or DHE with
// AES-GCM or ChaCha20-Poly1305, AES-128-GCM first.
inline constexpr std::string_view kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

// TLS 1.2 and 1.3 only; only forward-secret AEAD suites (a cipher list that OpenSSL rejects or
// that enables any other suite is kInvalidArgument, naming the suites); no renegotiation, no
// compression, the server's cipher order; no session tickets (see tls_context.cpp).
[[nodiscard]] Expected<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(
    const TlsOptions& options);

// The certificates the client sent, DER, its own first; empty when it sent none.
[[nodiscard]] std::vector<std::string> PeerCertificateChain(SSL* ssl);

}  // namespace uh::server::http
