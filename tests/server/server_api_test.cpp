// updatehub-server over real HTTP: auth, products, keys, package uploads and bad input.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;

const std::string kSignedUid = uh::testing::TestPackageUid("signed.uhupkg");

std::filesystem::path Conformance(const char* name) {
  return uh::testing::TestPackagesDir() / name;
}

TEST(ServerApi, HealthMetricsAndOpenApi) {
  ServerFixture server;
  EXPECT_EQ(Fetch(server.Url("/healthz")).status, 200);
  auto openapi = Fetch(server.Url("/api/v1/openapi.yaml"));
  EXPECT_EQ(openapi.status, 200);
  EXPECT_THAT(openapi.body, HasSubstr("openapi: 3"));
  auto metrics = Fetch(server.Url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("updatehub_probes_total{outcome=\"offered\"} 0"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE updatehub_http_requests_total counter"));
}

TEST(ServerApi, EveryManagementRouteNeedsAToken) {
  ServerFixture server;
  for (const char* path : {"/api/v1/products", "/api/v1/devices", "/api/v1/packages?product=x"}) {
    EXPECT_EQ(Fetch(server.Url(path)).status, 401) << path;
    auto wrong = Fetch(server.Url(path), {.headers = {"Authorization: Bearer nope"}});
    EXPECT_EQ(wrong.status, 401) << path;
    EXPECT_THAT(wrong.body, HasSubstr("invalid or expired token"));
  }
  auto bad_login = Fetch(server.Url("/api/v1/login"),
                         {.method = "POST", .body = R"({"username": "admin", "password": "x"})"});
  EXPECT_EQ(bad_login.status, 401);
  // A long-lived token for scripts works; a logged-out session token does not.
  auto created = server.Api("POST", "/api/v1/tokens", {{"name", "ci"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string api_token = json::parse(created.body)["token"];
  EXPECT_EQ(
      Fetch(server.Url("/api/v1/products"), {.headers = {"Authorization: Bearer " + api_token}})
          .status,
      200);
  EXPECT_EQ(server.Api("POST", "/api/v1/logout").status, 200);
  EXPECT_EQ(server.Api("GET", "/api/v1/products").status, 401);
}

TEST(ServerApi, ProductsAndKeys) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  auto again =
      server.Api("POST", "/api/v1/products", {{"uid", kConformanceProduct}, {"name", "x"}});
  EXPECT_EQ(again.status, 409);
  auto generated = server.Api("POST", "/api/v1/products", {{"name", "generated"}});
  ASSERT_EQ(generated.status, 201);
  EXPECT_TRUE(IsLowerHexSha256(json::parse(generated.body)["uid"].get<std::string>()));
  EXPECT_EQ(server.Api("POST", "/api/v1/products", {{"uid", "ABC"}, {"name", "x"}}).status, 400);
  EXPECT_EQ(server.Api("POST", "/api/v1/products", {{"name", 5}}).status, 400);
  auto list = server.Api("GET", "/api/v1/products");
  EXPECT_EQ(json::parse(list.body)["products"].size(), 2u);

  const std::string keys = std::string("/api/v1/products/") + kConformanceProduct + "/keys";
  const std::string pem = uh::testing::ReadFile(Conformance("key.pub"));
  EXPECT_EQ(server.Api("POST", keys, {{"public_key", pem}}).status, 409);  // same fingerprint
  auto not_a_key = server.Api("POST", keys, {{"public_key", "hello"}});
  EXPECT_EQ(not_a_key.status, 400);
  EXPECT_THAT(not_a_key.body, HasSubstr("public_key"));
  EXPECT_EQ(
      server
          .Api("POST", "/api/v1/products/" + std::string(64, 'f') + "/keys", {{"public_key", pem}})
          .status,
      404);
  auto listed = json::parse(server.Api("GET", keys).body)["keys"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["fingerprint"].get<std::string>().size(), 64u);
}

TEST(ServerApi, UploadAcceptsOnlyVerifiedPackagesAndIsIdempotent) {
  ServerFixture server;
  // Unknown product: refused before anything else.
  auto unknown = server.Upload(Conformance("signed.uhupkg"));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_THAT(unknown.body, HasSubstr("unknown product"));

  server.SetUpConformanceProduct();
  auto first = server.Upload(Conformance("signed.uhupkg"));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(json::parse(first.body)["uid"], kSignedUid);
  auto second = server.Upload(Conformance("signed.uhupkg"));
  EXPECT_EQ(second.status, 200) << second.body;

  auto unsigned_package = server.Upload(Conformance("unsigned.uhupkg"));
  EXPECT_EQ(unsigned_package.status, 422);
  EXPECT_THAT(unsigned_package.body, HasSubstr("not signed"));
  EXPECT_EQ(server.Upload(Conformance("compressed.uhupkg")).status, 201);

  auto list = server.Api("GET", std::string("/api/v1/packages?product=") + kConformanceProduct);
  EXPECT_EQ(json::parse(list.body)["packages"].size(), 2u);
  auto shown = server.Api("GET", "/api/v1/packages/" + kSignedUid);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(json::parse(shown.body)["metadata"]["version"], "1.0.0");
}

// Packages made by upstream's uhu are taken as they are, under the UID uhu gave them.
TEST(ServerApi, UploadAcceptsUpstreamPackages) {
  UH_UPSTREAM_PACKAGES(upstream);
  ServerFixture server;
  auto product =
      server.Api("POST", "/api/v1/products", {{"uid", kConformanceProduct}, {"name", "upstream"}});
  ASSERT_EQ(product.status, 201) << product.body;
  auto key = server.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/keys",
                        {{"public_key", uh::testing::ReadFile(upstream / "key.pub")}});
  ASSERT_EQ(key.status, 201) << key.body;
  auto signed_package = server.Upload(upstream / "signed.uhupkg");
  ASSERT_EQ(signed_package.status, 201) << signed_package.body;
  EXPECT_EQ(json::parse(signed_package.body)["uid"],
            "3aa90e49ffe81f4d5c524f6e5037fd28771906515a0d8ec5e7e736b89dccabea");
  auto compressed = server.Upload(upstream / "compressed.uhupkg");
  ASSERT_EQ(compressed.status, 201) << compressed.body;
  EXPECT_EQ(json::parse(compressed.body)["uid"],
            "e54f686bf83d9d500c4c0cb7b799af295227c6d87a3e04c58b91a560e2e736d0");
  EXPECT_EQ(server.Upload(upstream / "unsigned.uhupkg").status, 422);
}

TEST(ServerApi, MalformedAndForeignPackagesAreRefusedAndNothingIsStored) {
  ServerFixture server(2 << 20);
  server.SetUpConformanceProduct();
  const std::string original = uh::testing::ReadFile(Conformance("signed.uhupkg"));

  // Truncated ZIP.
  uh::testing::WriteFile(server.dir / "cut.uhupkg", original.substr(0, original.size() / 2));
  auto cut = server.Upload(server.dir / "cut.uhupkg");
  EXPECT_EQ(cut.status, 400) << cut.body;

  // One object byte flipped: the ZIP CRC or the sha256 catches it.
  // rootfs.img is the last member: 2000 bytes from the end is inside it.
  std::string flipped = original;
  flipped[flipped.size() - 2000] ^= 0x55;
  uh::testing::WriteFile(server.dir / "flipped.uhupkg", flipped);
  auto bad_object = server.Upload(server.dir / "flipped.uhupkg");
  EXPECT_GE(bad_object.status, 400) << bad_object.body;
  EXPECT_LT(bad_object.status, 500) << bad_object.body;

  // Signed by a key the product does not have.
  auto key = uh::testing::Run({uh::testing::PkgTool().string(), "keygen", "--out",
                               (server.dir / "other").string(), "--bits", "2048"});
  ASSERT_EQ(key.status, 0) << key.err;
  auto resigned = uh::testing::Run(
      {uh::testing::PkgTool().string(), "sign", Conformance("signed.uhupkg").string(), "--key",
       (server.dir / "other/key.pem").string(), "-o", (server.dir / "other.uhupkg").string()});
  ASSERT_EQ(resigned.status, 0) << resigned.err;
  auto foreign = server.Upload(server.dir / "other.uhupkg");
  EXPECT_EQ(foreign.status, 422) << foreign.body;
  EXPECT_THAT(foreign.body, HasSubstr("does not verify"));

  // Not a package at all, and too big.
  uh::testing::WriteFile(server.dir / "junk", uh::testing::RandomBytes(1000));
  EXPECT_EQ(server.Upload(server.dir / "junk").status, 400);
  uh::testing::WriteFile(server.dir / "huge", uh::testing::RandomBytes(3 << 20));
  EXPECT_EQ(server.Upload(server.dir / "huge").status, 413);

  auto list = server.Api("GET", std::string("/api/v1/packages?product=") + kConformanceProduct);
  EXPECT_EQ(json::parse(list.body)["packages"].size(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(server.dir / "data/objects"));
  // And the server keeps serving.
  EXPECT_EQ(server.Upload(Conformance("signed.uhupkg")).status, 201);
}

TEST(ServerApi, BadRequestsGetClearErrors) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  EXPECT_EQ(Fetch(server.Url("/nowhere")).status, 404);
  EXPECT_EQ(Fetch(server.Url("/upgrades")).status, 405);
  auto not_json = Fetch(server.Url("/upgrades"), {.method = "POST", .body = "{nope"});
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.body, HasSubstr("invalid JSON"));
  auto wrong_type =
      Fetch(server.Url("/upgrades"), {.method = "POST", .body = R"({"product-uid": 5})"});
  EXPECT_EQ(wrong_type.status, 400);
  auto huge = Fetch(server.Url("/upgrades"), {.method = "POST", .body = std::string(2 << 20, ' ')});
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(server.Api("POST", "/api/v1/products", nullptr).status, 400);
  EXPECT_EQ(server.Api("GET", "/api/v1/devices?limit=0").status, 400);
  EXPECT_EQ(server.Api("GET", "/api/v1/devices/abc").status, 400);
  EXPECT_EQ(server.Api("GET", "/api/v1/devices/999").status, 404);
  // Traversal in object URLs never reaches the file system.
  for (const char* path : {"/products/x/packages/y/objects/..%2f..%2fetc%2fpasswd",
                           "/products/../../etc/passwd", "/products/a/packages/b/objects/c"}) {
    const long status = Fetch(server.Url(path)).status;
    EXPECT_TRUE(status == 400 || status == 404) << path << " " << status;
  }
  EXPECT_EQ(Fetch(server.Url("/healthz")).status, 200);
}

TEST(ServerApi, SqlMeaningfulStringsAreStoredVerbatim) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  const std::string evil = "'; DROP TABLE devices; -- \"\\ %_ \xc3\xa9";
  json device = ServerFixture::DeviceBody(evil, evil, evil);
  device["device-attributes"] = {{evil, evil}};
  EXPECT_EQ(server.Probe(device).status, 404);
  auto product = server.Api("POST", "/api/v1/products", {{"name", evil}});
  ASSERT_EQ(product.status, 201);
  EXPECT_EQ(json::parse(product.body)["name"], evil);
  auto devices = json::parse(server.Api("GET", "/api/v1/devices").body)["devices"];
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0]["hardware"], evil);
  EXPECT_EQ(devices[0]["version"], evil);
  EXPECT_EQ(devices[0]["identity"]["serial"], evil);
  EXPECT_EQ(devices[0]["attributes"][evil], evil);
}

}  // namespace
}  // namespace uh::server::testing
