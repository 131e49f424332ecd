// The server's TLS policy, tried with OpenSSL clients that offer one thing at a time: protocol
// versions, forward-secret AEAD suites only, a configured cipher list, and certificate reload.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/http/server_fixture.hpp"
#include "server/http/tls_test_client.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class TlsPolicyTest : public ServerFixture {
 protected:
  void SetUp() override {
    ASSERT_EQ(MakeCertificate(cert_, key_, /*rsa=*/true), "");
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router_ = router;
    options_.tls = TlsOptions{.certificate = cert_, .private_key = key_};
  }

  std::filesystem::path cert_ = dir_ / "cert.pem";
  std::filesystem::path key_ = dir_ / "key.pem";
  std::shared_ptr<const Router> router_;
};

TlsOffer Tls12(std::string ciphers) {
  return {.max_version = TLS1_2_VERSION, .ciphers = std::move(ciphers) + ":@SECLEVEL=0"};
}

struct OfferCase {
  std::string name;
  TlsOffer offer;
  bool accepted;
};

TEST_F(TlsPolicyTest, OnlyTls12ForwardSecretAeadAndTls13) {
  StartServer(router_);
  const std::vector<OfferCase> cases = {
      {"static RSA, CBC", Tls12("AES128-SHA"), false},
      {"static RSA, GCM", Tls12("AES256-GCM-SHA384"), false},
      {"ECDHE, CBC with SHA-1", Tls12("ECDHE-RSA-AES128-SHA"), false},
      {"ECDHE, CBC with SHA-256", Tls12("ECDHE-RSA-AES128-SHA256"), false},
      {"DHE, CBC", Tls12("DHE-RSA-AES256-SHA"), false},
      {"ECDHE, AES-128-GCM", Tls12("ECDHE-RSA-AES128-GCM-SHA256"), true},
      {"ECDHE, AES-256-GCM", Tls12("ECDHE-RSA-AES256-GCM-SHA384"), true},
      {"ECDHE, ChaCha20-Poly1305", Tls12("ECDHE-RSA-CHACHA20-POLY1305"), true},
      {"DHE, AES-128-GCM", Tls12("DHE-RSA-AES128-GCM-SHA256"), true},
      {"TLS 1.3", {.min_version = TLS1_3_VERSION}, true},
      {"TLS 1.1", {.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION}, false},
      {"TLS 1.0", {.min_version = TLS1_VERSION, .max_version = TLS1_VERSION}, false},
  };
  for (const auto& [name, offer, accepted] : cases) {
    TlsClient client(port(), offer);
    EXPECT_EQ(client.connected(), accepted) << name << ": " << client.error() << client.cipher();
    if (!accepted || !client.connected()) continue;
    if (offer.min_version == TLS1_3_VERSION) {
      EXPECT_EQ(client.version(), "TLSv1.3") << name;
    } else {
      EXPECT_EQ(client.cipher() + ":@SECLEVEL=0", offer.ciphers) << name;
    }
    EXPECT_THAT(client.Exchange("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                AllOf(HasSubstr("200 OK"), HasSubstr("hello")))
        << name;
  }
}

TEST_F(TlsPolicyTest, ServerChoosesByItsOwnOrder) {
  StartServer(router_);
  TlsClient client(port(), Tls12("ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:"
                                 "ECDHE-RSA-AES128-GCM-SHA256"));
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.cipher(), "ECDHE-RSA-AES128-GCM-SHA256");
}

TEST_F(TlsPolicyTest, ConfiguredSuitesAreHonoured) {
  options_.tls->ciphers = "ECDHE-RSA-AES256-GCM-SHA384";
  options_.tls->ciphersuites = "TLS_AES_256_GCM_SHA384";
  StartServer(router_);
  EXPECT_FALSE(TlsClient(port(), Tls12("ECDHE-RSA-AES128-GCM-SHA256")).connected());
  EXPECT_FALSE(TlsClient(port(), Tls12("ECDHE-RSA-CHACHA20-POLY1305")).connected());
  EXPECT_TRUE(TlsClient(port(), Tls12("ECDHE-RSA-AES256-GCM-SHA384")).connected());

  const TlsOffer tls13{.min_version = TLS1_3_VERSION, .ciphersuites = "TLS_AES_128_GCM_SHA256"};
  EXPECT_FALSE(TlsClient(port(), tls13).connected());
  TlsClient aes256(port(),
                   {.min_version = TLS1_3_VERSION, .ciphersuites = "TLS_AES_256_GCM_SHA384"});
  ASSERT_TRUE(aes256.connected()) << aes256.error();
  EXPECT_EQ(aes256.cipher(), "TLS_AES_256_GCM_SHA384");
}

TEST_F(TlsPolicyTest, BadOrWeakSuitesFailStartClearly) {
  struct BadCase {
    std::string ciphers;
    std::string ciphersuites;
    std::vector<std::string> message;  // substrings of the error
  };
  const std::vector<BadCase> cases = {
      {"NOT-A-CIPHER", "", {"TLS ciphers 'NOT-A-CIPHER'", "no cipher match"}},
      {"ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA", "", {"not forward-secret AEAD", ": AES128-SHA"}},
      {"ECDHE-RSA-AES128-SHA", "", {"not forward-secret AEAD", "ECDHE-RSA-AES128-SHA"}},
      {"HIGH", "", {"not forward-secret AEAD", "AES256-GCM-SHA384"}},
      {"ADH-AES128-GCM-SHA256:@SECLEVEL=0", "", {"ADH-AES128-GCM-SHA256"}},
      {"", "TLS_NOT_A_SUITE", {"TLS 1.3 ciphersuites 'TLS_NOT_A_SUITE'"}},
      {"", "TLS_AES_128_CCM_8_SHA256", {"not forward-secret AEAD", "TLS_AES_128_CCM_8_SHA256"}},
  };
  for (const auto& [ciphers, ciphersuites, message] : cases) {
    options_.tls->ciphers = ciphers;
    options_.tls->ciphersuites = ciphersuites;
    auto started = HttpServer::Start(options_, router_);
    ASSERT_FALSE(started) << ciphers << ciphersuites;
    EXPECT_EQ(started.error().code(), Errc::kInvalidArgument);
    for (const auto& part : message) {
      EXPECT_THAT(started.error().message(), HasSubstr(part)) << ciphers << ciphersuites;
    }
  }
}

TEST_F(TlsPolicyTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  StartServer(router_);
  const std::string first = CertificateFingerprint(cert_);
  TlsClient before(port(), {});
  ASSERT_TRUE(before.connected()) << before.error();
  EXPECT_EQ(before.fingerprint(), first);

  ASSERT_EQ(MakeCertificate(cert_, key_, /*rsa=*/false), "");
  const std::string second = CertificateFingerprint(cert_);
  ASSERT_NE(first, second);
  auto reloaded = server_->ReloadTls();
  ASSERT_TRUE(reloaded) << reloaded.error().message();
  TlsClient after(port(), {});
  ASSERT_TRUE(after.connected()) << after.error();
  EXPECT_EQ(after.fingerprint(), second);
  // The connection made before the reload goes on with what it has.
  EXPECT_THAT(before.Exchange("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
              HasSubstr("hello"));
}

TEST_F(TlsPolicyTest, ReloadOfABrokenCertificateKeepsTheCurrentOne) {
  StartServer(router_);
  const std::string current = CertificateFingerprint(cert_);

  uh::testing::WriteFile(cert_, "not a certificate");
  auto garbage = server_->ReloadTls();
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message(), AllOf(HasSubstr("cert.pem"), HasSubstr("keeping")));

  // A valid certificate whose key is not the one in key.pem.
  ASSERT_EQ(MakeCertificate(cert_, dir_ / "other-key.pem", /*rsa=*/true), "");
  auto mismatch = server_->ReloadTls();
  ASSERT_FALSE(mismatch);
  EXPECT_THAT(mismatch.error().message(), AllOf(HasSubstr("key.pem"), HasSubstr("keeping")));

  TlsClient client(port(), {});
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.fingerprint(), current);
}

TEST_F(TlsPolicyTest, ReloadWithoutTlsDoesNothing) {
  options_.tls.reset();
  StartServer(router_);
  EXPECT_TRUE(server_->ReloadTls());
}

}  // namespace
}  // namespace uh::server::http::testing
