// Probe against a real server (replies by the book) and a raw one (replies nobody should send).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client_fixture.hpp"
#include "raw_http_server.hpp"

namespace uh::agent::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

const std::string kMetadata =
    R"({"objects": [[{"filename": "a", "mode": "test", "sha256sum": "00", "size": 1}]], )"
    R"("product": "aaaa", "supported-hardware": "any", "version": "2.0"})";

class ClientProbeTest : public ClientTest {
 protected:
  // Serves /upgrades with `response`.
  void Serve(http::Response response) {
    server_.Route(http::Method::kPost, "/upgrades",
                  [response](http::Request&) { return response; });
    server_.Start();
  }

  Expected<ProbeResult> Probe(int retries = 0) {
    auto client = MakeTestClient(server_.Url());
    return client->Probe(DeviceFields(), retries);
  }
};

TEST_F(ClientProbeTest, NotFoundMeansNoUpdateAndTheRequestFollowsTheProtocol) {
  Serve(http::Response::Error(404, "no update available"));
  auto result = Probe(3);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(std::holds_alternative<NoUpdate>(*result));

  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/upgrades");
  EXPECT_EQ(seen[0].Header("api-content-type"), "application/vnd.updatehub-v1+json");
  EXPECT_EQ(seen[0].Header("content-type"), "application/json");
  EXPECT_EQ(seen[0].Header("api-retries"), "3");
  EXPECT_THAT(seen[0].Header("user-agent"), StartsWith("updatehub/"));
  EXPECT_EQ(seen[0].Header("user-agent"), DefaultUserAgent());
  EXPECT_FALSE(seen[0].HasHeader("uh-product-token"));
  EXPECT_FALSE(seen[0].HasHeader("expect"));
  EXPECT_EQ(nlohmann::json::parse(seen[0].body), DeviceFields());
}

TEST_F(ClientProbeTest, ExtraPollHeaderAsksForALaterProbe) {
  Serve(http::Response::Text(200, "ignored").SetHeader("Add-Extra-Poll", "42"));
  auto result = Probe();
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_TRUE(std::holds_alternative<ExtraPoll>(*result));
  EXPECT_EQ(std::get<ExtraPoll>(*result).seconds, 42);
}

TEST_F(ClientProbeTest, OfferCarriesTheExactMetadataBytesAndTheSignature) {
  // Spacing and a trailing newline a re-serialisation would lose: the bytes are what is signed.
  const std::string metadata = kMetadata + "\n";
  Serve(http::Response::Text(200, metadata, "application/json")
            .SetHeader("UH-Signature", "c2lnbmF0dXJl"));
  auto result = Probe();
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_TRUE(std::holds_alternative<UpdateOffer>(*result));
  EXPECT_EQ(std::get<UpdateOffer>(*result).metadata, metadata);
  EXPECT_EQ(std::get<UpdateOffer>(*result).signature, "c2lnbmF0dXJl");
}

TEST_F(ClientProbeTest, OfferWithoutSignatureIsUnsigned) {
  Serve(http::Response::Text(200, kMetadata, "application/json"));
  auto result = Probe();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(std::get<UpdateOffer>(*result).signature, std::nullopt);
}

TEST_F(ClientProbeTest, SendsTheProductTokenWhenConfigured) {
  Serve(http::Response::Error(404, "none"));
  auto options = TestOptions(server_.Url("/"));  // a trailing slash is fine too
  options.product_token = "secret-token";
  options.user_agent = "updatehub/9.9 Linux";
  ASSERT_TRUE(MakeTestClient(options)->Probe(DeviceFields(), 0));
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/upgrades");
  EXPECT_EQ(seen[0].Header("uh-product-token"), "secret-token");
  EXPECT_EQ(seen[0].Header("user-agent"), "updatehub/9.9 Linux");
}

TEST_F(ClientProbeTest, ServerErrorIsAnErrorWithStatusAndExcerpt) {
  Serve(http::Response::Error(500, "database is down"));
  auto result = Probe();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo);
  EXPECT_THAT(result.error().message(), HasSubstr("500"));
  EXPECT_THAT(result.error().message(), HasSubstr("database is down"));
}

TEST_F(ClientProbeTest, MetadataOverTheLimitIsRefused) {
  Serve(http::Response::Text(200, std::string((1 << 20) + 1, ' ')));
  auto result = Probe();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTooLarge);

  auto options = TestOptions(server_.Url());
  options.max_metadata_bytes = 1 << 21;
  EXPECT_TRUE(MakeTestClient(options)->Probe(DeviceFields(), 0));
}

TEST_F(ClientProbeTest, FollowsATemporaryRedirectKeepingMethodAndBody) {
  server_.Route(http::Method::kPost, "/upgrades", [](http::Request&) {
    return http::Response::Text(307, "").SetHeader("Location", "/v2/upgrades");
  });
  server_.Route(http::Method::kPost, "/v2/upgrades",
                [](http::Request&) { return http::Response::Text(200, kMetadata); });
  server_.Start();
  auto result = Probe();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(std::get<UpdateOffer>(*result).metadata, kMetadata);
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(nlohmann::json::parse(seen[1].body), DeviceFields());
}

TEST_F(ClientProbeTest, DoesNotTurnAPostIntoAGetOnA302) {
  Serve(http::Response::Text(302, "").SetHeader("Location", "/elsewhere"));
  auto result = Probe();
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(), HasSubstr("302"));
  EXPECT_EQ(server_.seen().size(), 1u);
}

TEST_F(ClientProbeTest, InvalidServerUrlIsRefusedUpFront) {
  for (const char* url : {"", "ftp://host/", "file:///etc", "localhost:8080"}) {
    auto client = MakeClient({.server_url = url});
    ASSERT_FALSE(client) << url;
    EXPECT_EQ(client.error().code(), Errc::kInvalidArgument);
  }
}

TEST_F(ClientProbeTest, ConnectionRefusedIsAnError) {
  auto client = MakeTestClient("http://127.0.0.1:" + std::to_string(ClosedPort()));
  auto result = client->Probe(DeviceFields(), 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo);
  EXPECT_THAT(result.error().message(), StartsWith("probe: "));
}

TEST_F(ClientProbeTest, GarbageStatusLineIsAnError) {
  RawHttpServer raw([](RawHttpServer::Connection& c, const RawRequest&, int) {
    (void)c.Send("SMTP ready, not HTTP at all\r\n\r\n");
  });
  auto result = MakeTestClient(raw.Url())->Probe(DeviceFields(), 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kMalformed) << result.error().message();
}

TEST_F(ClientProbeTest, TruncatedBodyIsAnError) {
  RawHttpServer raw([](RawHttpServer::Connection& c, const RawRequest&, int) {
    (void)c.Send(RawHead(200, {"Content-Length: 1000"}) + "{\"product\": ");
  });
  auto result = MakeTestClient(raw.Url())->Probe(DeviceFields(), 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo) << result.error().message();
}

TEST_F(ClientProbeTest, OversizedChunkedBodyIsRefusedWithoutReadingItAll) {
  RawHttpServer raw([](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (!c.Send(RawHead(200, {"Transfer-Encoding: chunked"}))) return;
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    for (int i = 0; i < 1024 && c.Send(chunk); ++i) {  // 64 MiB unless the client hangs up
    }
  });
  auto result = MakeTestClient(raw.Url())->Probe(DeviceFields(), 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTooLarge) << result.error().message();
}

TEST_F(ClientProbeTest, SilentServerTimesOut) {
  RawHttpServer raw([](RawHttpServer::Connection& c, const RawRequest&, int) {
    c.WaitForClose(10s);  // reads the request, never answers
  });
  auto options = TestOptions(raw.Url());
  options.request_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto result = MakeTestClient(options)->Probe(DeviceFields(), 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout) << result.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(raw.requests().size(), 1u);
}

// HTTPS with a self-signed certificate: trusted through ca_file, refused without it.
TEST_F(ClientProbeTest, VerifiesTlsAgainstTheConfiguredCa) {
  const auto cert = dir_ / "cert.pem";
  const auto key = dir_ / "key.pem";
  const auto made = uh::testing::Run(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "1", "-subj",
       "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(made.status, 0) << made.err;
  server_.Route(http::Method::kPost, "/upgrades",
                [](http::Request&) { return http::Response::Error(404, "none"); });
  server_.Start(http::TlsOptions{.certificate = cert, .private_key = key});
  const std::string url = "https://127.0.0.1:" + std::to_string(server_.port());

  auto untrusted = MakeTestClient(url)->Probe(DeviceFields(), 0);
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code(), Errc::kIo);

  auto options = TestOptions(url);
  options.ca_file = cert;
  auto trusted = MakeTestClient(options)->Probe(DeviceFields(), 0);
  ASSERT_TRUE(trusted) << trusted.error().message();
  EXPECT_TRUE(std::holds_alternative<NoUpdate>(*trusted));
}

}  // namespace
}  // namespace uh::agent::testing
