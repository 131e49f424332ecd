// The device's own credentials (docs/protocol.md, 1.1): the `UH-Device-Token` header and a TLS
// client certificate go with every probe, report and object download to the server, and stay
// behind when a download is redirected to another origin (a CDN).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client_fixture.hpp"
#include "core/hash.hpp"

namespace uh::agent::testing {
namespace {

using uh::testing::ReadFile;
using uh::testing::WriteFile;

const std::string kDeviceToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class ClientCredentialsTest : public ClientTest {
 protected:
  ClientCredentialsTest() { WriteFile(object_file_, object_); }

  // The server answers probes and reports, and redirects object downloads to `cdn`.
  void RouteServer(RecordingServer& cdn) {
    server_.Route(http::Method::kPost, "/upgrades",
                  [](http::Request&) { return http::Response::Error(404, "no update"); });
    server_.Route(http::Method::kPost, "/report",
                  [](http::Request&) { return http::Response::Text(200, ""); });
    server_.Route(http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                  [&cdn](http::Request& request) {
                    return http::Response::Text(302, "see the CDN")
                        .SetHeader("Location", cdn.Url("/blobs/" + request.Param("o")));
                  });
    cdn.Route(http::Method::kGet, "/blobs/{o}",
              [this](http::Request& request) { return http::FileResponse(request, object_file_); });
  }

  // Probe, report and download through the redirect, all successful.
  void ProbeReportDownload(const ClientOptions& options) {
    auto client = MakeTestClient(options);
    auto probed = client->Probe(DeviceFields(), 0);
    ASSERT_TRUE(probed) << probed.error().message();
    auto reported =
        client->Report(DeviceFields(), {.status = "downloading", .package_uid = kPackage});
    ASSERT_TRUE(reported) << reported.error().message();
    auto downloaded = client->DownloadObject({.product_uid = kProduct,
                                              .package_uid = kPackage,
                                              .sha256 = Sha256Hex(object_),
                                              .size = object_.size(),
                                              .dest = dir_ / "download"},
                                             {});
    ASSERT_TRUE(downloaded) << downloaded.error().message();
    EXPECT_TRUE(ReadFile(dir_ / "download") == object_);
  }

  // A self-signed certificate for 127.0.0.1 and its key, named `name`.pem and `name`.key.
  std::pair<std::filesystem::path, std::filesystem::path> MakeCertificate(const std::string& name) {
    const auto cert = dir_ / (name + ".pem");
    const auto key = dir_ / (name + ".key");
    const auto made = uh::testing::Run(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "1", "-subj",
         "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
    EXPECT_EQ(made.status, 0) << made.err;
    return {cert, key};
  }

  // The DER form of a PEM certificate, as the server sees it.
  std::string Der(const std::filesystem::path& pem) {
    const auto der = dir_ / "cert.der";
    const auto made = uh::testing::Run(
        {"openssl", "x509", "-in", pem.string(), "-outform", "DER", "-out", der.string()});
    EXPECT_EQ(made.status, 0) << made.err;
    return ReadFile(der);
  }

  const std::string object_ = uh::testing::RandomBytes(100 * 1024, 5);
  const std::filesystem::path object_file_ = dir_ / "object";
};

TEST_F(ClientCredentialsTest, TheDeviceTokenGoesToTheServerOnlyNeverToARedirectTarget) {
  RecordingServer cdn(dir_.path());
  RouteServer(cdn);
  cdn.Start();
  server_.Start();
  auto options = TestOptions(server_.Url());
  options.device_token = kDeviceToken;
  ProbeReportDownload(options);

  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, "/upgrades");
  EXPECT_EQ(seen[1].target, "/report");
  EXPECT_THAT(seen[2].target, ::testing::StartsWith("/products/"));
  for (const auto& request : seen) {
    EXPECT_EQ(request.Header("uh-device-token"), kDeviceToken) << request.target;
    EXPECT_FALSE(request.HasHeader("uh-product-token")) << request.target;
  }
  const auto at_cdn = cdn.seen();
  ASSERT_EQ(at_cdn.size(), 1u);
  EXPECT_FALSE(at_cdn[0].HasHeader("uh-device-token"));
}

TEST_F(ClientCredentialsTest, NoDeviceTokenConfiguredMeansNoHeader) {
  RecordingServer cdn(dir_.path());
  RouteServer(cdn);
  cdn.Start();
  server_.Start();
  ProbeReportDownload(TestOptions(server_.Url()));
  for (const auto& request : server_.seen()) {
    EXPECT_FALSE(request.HasHeader("uh-device-token")) << request.target;
  }
}

TEST_F(ClientCredentialsTest, TheClientCertificateIsPresentedToTheServerOnly) {
  const auto [server_cert, server_key] = MakeCertificate("localhost");
  const auto [client_cert, client_key] = MakeCertificate("device-1");
  RecordingServer cdn(dir_.path());
  RouteServer(cdn);
  cdn.Start(http::TlsOptions{.certificate = server_cert, .private_key = server_key});
  server_.Start(http::TlsOptions{.certificate = server_cert, .private_key = server_key});
  auto options = TestOptions(server_.Url());
  options.ca_file = server_cert;
  options.client_certificate = client_cert;
  options.client_key = client_key;
  ProbeReportDownload(options);

  const std::string der = Der(client_cert);
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& request : seen) {
    ASSERT_FALSE(request.peer_certificates.empty()) << request.target;
    EXPECT_TRUE(request.peer_certificates.front() == der) << request.target;
  }
  const auto at_cdn = cdn.seen();
  ASSERT_EQ(at_cdn.size(), 1u);
  EXPECT_TRUE(at_cdn[0].peer_certificates.empty());
}

TEST_F(ClientCredentialsTest, WithoutAClientCertificateNoneIsPresented) {
  const auto [server_cert, server_key] = MakeCertificate("localhost");
  server_.Route(http::Method::kPost, "/upgrades",
                [](http::Request&) { return http::Response::Error(404, "no update"); });
  server_.Start(http::TlsOptions{.certificate = server_cert, .private_key = server_key});
  auto options = TestOptions(server_.Url());
  options.ca_file = server_cert;
  auto probed = MakeTestClient(options)->Probe(DeviceFields(), 0);
  ASSERT_TRUE(probed) << probed.error().message();
  ASSERT_EQ(server_.seen().size(), 1u);
  EXPECT_TRUE(server_.seen()[0].peer_certificates.empty());
}

}  // namespace
}  // namespace uh::agent::testing
