// HTTPS with a self-signed certificate made by the openssl command line.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/http/http_test_client.hpp"
#include "server/http/server_fixture.hpp"
#include "server/http/tls_test_client.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A P-256 key and a certificate for 127.0.0.1 and localhost.
void MakeEcCertificate(const std::filesystem::path& cert, const std::filesystem::path& key) {
  ASSERT_EQ(MakeCertificate(cert, key, /*rsa=*/false), "");
}

class TlsTest : public ServerFixture {
 protected:
  void SetUp() override {
    MakeEcCertificate(cert_, key_);
    uh::testing::WriteFile(dir_ / "object", uh::testing::RandomBytes(1 << 20, 5));
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router->Add(Method::kGet, "/object",
                [this](Request& request) { return FileResponse(request, dir_ / "object"); });
    router->Add(
        Method::kPost, "/upload",
        [](Request& request) {
          return Response::Json(200, {{"size", std::filesystem::file_size(request.body_file)}});
        },
        RouteOptions{.body_to_file = true, .max_file_body_bytes = 8 << 20});
    router_ = router;
  }

  std::string HttpsUrl(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }

  std::filesystem::path cert_ = dir_ / "cert.pem";
  std::filesystem::path key_ = dir_ / "key.pem";
  std::shared_ptr<const Router> router_;
};

TEST_F(TlsTest, ServesOverHttps) {
  options_.tls = TlsOptions{cert_, key_};
  StartServer(router_);
  auto hello = Fetch(HttpsUrl("/hello"), {.ca_file = cert_});
  ASSERT_EQ(hello.status, 200) << hello.error;
  EXPECT_EQ(hello.body, "hello");

  auto object = Fetch(HttpsUrl("/object"), {.range = "100-", .ca_file = cert_});
  EXPECT_EQ(object.status, 206);
  EXPECT_TRUE(object.body == uh::testing::ReadFile(dir_ / "object").substr(100));

  uh::testing::WriteFile(dir_ / "to-send", uh::testing::RandomBytes(3 << 20, 9));
  auto upload =
      Fetch(HttpsUrl("/upload"), {.method = "POST", .upload = dir_ / "to-send", .ca_file = cert_});
  EXPECT_EQ(upload.status, 200) << upload.error;
  EXPECT_EQ(nlohmann::json::parse(upload.body)["size"], 3 << 20);
  EXPECT_TRUE(UploadsEmpty());
}

TEST_F(TlsTest, SurvivesPlainHttpAndUntrustingClients) {
  options_.tls = TlsOptions{cert_, key_};
  StartServer(router_);
  {
    RawConnection plain(port());
    ASSERT_TRUE(plain.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_TRUE(plain.ReadUntilClosed(3s));
  }
  EXPECT_NE(Fetch(HttpsUrl("/hello")).error, "");  // no CA given: the certificate is refused
  EXPECT_EQ(Fetch(HttpsUrl("/hello"), {.ca_file = cert_}).status, 200);
}

TEST_F(TlsTest, BadCertificateOrKeyFailsStartClearly) {
  options_.tls = TlsOptions{dir_ / "missing.pem", key_};
  auto missing = HttpServer::Start(options_, router_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kInvalidArgument);
  EXPECT_THAT(missing.error().message(), HasSubstr("missing.pem"));

  uh::testing::WriteFile(dir_ / "garbage.pem", "not a certificate");
  options_.tls = TlsOptions{dir_ / "garbage.pem", key_};
  auto garbage = HttpServer::Start(options_, router_);
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message(), HasSubstr("garbage.pem"));

  MakeEcCertificate(dir_ / "other-cert.pem", dir_ / "other-key.pem");
  options_.tls = TlsOptions{cert_, dir_ / "other-key.pem"};
  auto mismatch = HttpServer::Start(options_, router_);
  ASSERT_FALSE(mismatch);
  EXPECT_THAT(mismatch.error().message(), HasSubstr("other-key.pem"));
}

}  // namespace
}  // namespace uh::server::http::testing
