// updatehub-server over real HTTP: device tokens per product, users and passwords, the reports
// listing, and probes that only update last_seen.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using http::testing::FetchOptions;
using nlohmann::json;
using ::testing::HasSubstr;

FetchOptions DeviceRequest(const json& body, const std::string& token) {
  FetchOptions options;
  options.method = "POST";
  options.headers = {"Content-Type: application/json",
                     "Api-Content-Type: application/vnd.updatehub-v1+json"};
  if (!token.empty()) options.headers.push_back("UH-Product-Token: " + token);
  options.body = body.dump();
  return options;
}

FetchResult AsUser(ServerFixture& server, const std::string& token, const std::string& method,
                   const std::string& path, const json& body = nullptr) {
  FetchOptions options;
  options.method = method;
  options.headers = {"Authorization: Bearer " + token, "Content-Type: application/json"};
  if (!body.is_null()) options.body = body.dump();
  return Fetch(server.Url(path), options);
}

class PeopleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }
  ServerFixture server_;
};

TEST_F(PeopleTest, ProductDeviceTokenGuardsProbeDownloadAndReport) {
  const std::string product_path = std::string("/api/v1/products/") + kConformanceProduct;
  auto created = server_.Api("POST", product_path + "/device-token");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = json::parse(created.body)["device_token"];
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(json::parse(server_.Api("GET", product_path).body)["device_auth"], "product-token");
  ASSERT_EQ(server_
                .Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                     {{"package", kUid}})
                .status,
            201);

  const json device = ServerFixture::DeviceBody("tok1", "0.9");
  // Without the token, or with a wrong one: 401, and the device is not even recorded.
  EXPECT_EQ(server_.Probe(device).status, 401);
  EXPECT_EQ(Fetch(server_.Url("/upgrades"), DeviceRequest(device, "wrong")).status, 401);
  EXPECT_EQ(json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"].size(), 0u);
  json report = device;
  report["status"] = "downloading";
  report["package-uid"] = kUid;
  EXPECT_EQ(Fetch(server_.Url("/report"), DeviceRequest(report, "")).status, 401);
  const std::string object_url = server_.Url(std::string("/products/") + kConformanceProduct +
                                             "/packages/" + kUid + "/objects/" + kRootfs);
  EXPECT_EQ(Fetch(object_url).status, 401);

  // With it, the protocol works as usual.
  auto offered = Fetch(server_.Url("/upgrades"), DeviceRequest(device, token));
  EXPECT_EQ(offered.status, 200) << offered.body;
  EXPECT_EQ(Fetch(server_.Url("/report"), DeviceRequest(report, token)).status, 200);
  FetchOptions download;
  download.headers = {"UH-Product-Token: " + token};
  auto object = Fetch(object_url, download);
  EXPECT_EQ(object.status, 200);
  EXPECT_EQ(object.body.size(), 1u << 20);

  // A new token replaces the old one; deleting it opens the product again.
  auto replaced = server_.Api("POST", product_path + "/device-token");
  ASSERT_EQ(replaced.status, 201);
  EXPECT_EQ(Fetch(server_.Url("/upgrades"), DeviceRequest(device, token)).status, 401);
  EXPECT_EQ(server_.Api("DELETE", product_path + "/device-token").status, 200);
  EXPECT_EQ(server_.Probe(device).status, 200);
  EXPECT_EQ(
      server_.Api("POST", "/api/v1/products/" + std::string(64, 'f') + "/device-token").status,
      404);
}

TEST_F(PeopleTest, AdminsManageUsersAndPasswordChangesRevokeTokens) {
  auto created =
      server_.Api("POST", "/api/v1/users", {{"username", "ops"}, {"password", "tulip engine 41"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::int64_t ops_id = json::parse(created.body)["id"];
  EXPECT_FALSE(json::parse(created.body)["admin"].get<bool>());
  EXPECT_EQ(
      server_.Api("POST", "/api/v1/users", {{"username", "ops"}, {"password", "another 1"}}).status,
      409);
  EXPECT_EQ(server_.Api("POST", "/api/v1/users", {{"username", "x"}, {"password", "short"}}).status,
            400);
  EXPECT_EQ(
      server_.Api("POST", "/api/v1/users", {{"username", "a b'; --"}, {"password", "long enough"}})
          .status,
      400);
  auto users = json::parse(server_.Api("GET", "/api/v1/users").body)["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_FALSE(users[0].contains("password_hash"));

  auto login = Fetch(server_.Url("/api/v1/login"),
                     {.method = "POST",
                      .body = json{{"username", "ops"}, {"password", "tulip engine 41"}}.dump()});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string ops_token = json::parse(login.body)["token"];
  // A user created without a role is a viewer: may read, not manage people.
  EXPECT_EQ(AsUser(server_, ops_token, "GET", "/api/v1/products").status, 200);
  EXPECT_EQ(AsUser(server_, ops_token, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(AsUser(server_, ops_token, "POST", "/api/v1/users",
                   {{"username", "evil"}, {"password", "evil password"}})
                .status,
            403);
  EXPECT_EQ(json::parse(AsUser(server_, ops_token, "GET", "/api/v1/users/me").body)["name"], "ops");

  // Changing the password needs the current one and revokes every older token.
  EXPECT_EQ(AsUser(server_, ops_token, "PUT", "/api/v1/users/me/password",
                   {{"current_password", "wrong"}, {"new_password", "tulip engine 42"}})
                .status,
            400);
  auto changed =
      AsUser(server_, ops_token, "PUT", "/api/v1/users/me/password",
             {{"current_password", "tulip engine 41"}, {"new_password", "tulip engine 42"}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  const std::string fresh = json::parse(changed.body)["token"];
  EXPECT_EQ(AsUser(server_, ops_token, "GET", "/api/v1/products").status, 401);
  EXPECT_EQ(AsUser(server_, fresh, "GET", "/api/v1/products").status, 200);

  // Admins cannot delete themselves; deleting a user ends its sessions.
  auto me = json::parse(server_.Api("GET", "/api/v1/users/me").body);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/users/" + std::to_string(me["id"].get<int>())).status,
            400);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/users/" + std::to_string(ops_id)).status, 200);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/users/" + std::to_string(ops_id)).status, 404);
  EXPECT_EQ(AsUser(server_, fresh, "GET", "/api/v1/products").status, 401);
}

TEST_F(PeopleTest, ReportsAreListedWithFiltersAndPaging) {
  ASSERT_EQ(server_
                .Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                     {{"package", kUid}})
                .status,
            201);
  for (int i = 0; i < 3; ++i) {
    const json device = ServerFixture::DeviceBody("r" + std::to_string(i), "0.9");
    ASSERT_EQ(server_.Probe(device).status, 200);
    ASSERT_EQ(server_.Report(device, "downloading", kUid).status, 200);
    ASSERT_EQ(
        server_.Report(device, i == 2 ? "error" : "downloaded", kUid, i == 2 ? "disk full" : "")
            .status,
        200);
  }
  auto all = json::parse(server_.Api("GET", "/api/v1/reports").body)["reports"];
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0]["status"], "error");  // newest first
  auto errors = json::parse(server_.Api("GET", "/api/v1/reports?status=error").body)["reports"];
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["error_message"], "disk full");
  const auto device_id = errors[0]["device_id"].get<std::int64_t>();
  auto of_device = json::parse(
      server_.Api("GET", "/api/v1/reports?device=" + std::to_string(device_id)).body)["reports"];
  EXPECT_EQ(of_device.size(), 2u);

  auto page = json::parse(server_.Api("GET", "/api/v1/reports?limit=4&package=" + kUid).body);
  ASSERT_EQ(page["reports"].size(), 4u);
  auto rest =
      json::parse(server_
                      .Api("GET", "/api/v1/reports?limit=4&before=" +
                                      std::to_string(page["next_before"].get<std::int64_t>()))
                      .body);
  EXPECT_EQ(rest["reports"].size(), 2u);
  EXPECT_FALSE(rest.contains("next_before"));

  EXPECT_EQ(server_.Api("GET", "/api/v1/reports?limit=0").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/reports?device=abc").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/reports?colour=red").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/reports?status=%27%3B%20DROP%20TABLE%20reports").status,
            200);
  EXPECT_EQ(Fetch(server_.Url("/api/v1/reports")).status, 401);
}

TEST_F(PeopleTest, UnchangedProbesUpdateLastSeenInBatchesAndChangesAtOnce) {
  json device = ServerFixture::DeviceBody("seen", "0.9");
  ASSERT_EQ(server_.Probe(device).status, 404);
  const auto shown = [&] {
    return json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"][0];
  };
  const json first = shown();
  // RFC 3339 times have one-second resolution.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(server_.Probe(device).status, 404);
  // The ticker (every 50 ms in tests) writes the batch.
  json later = shown();
  for (int i = 0; i < 100 && later["last_seen"] == first["last_seen"]; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    later = shown();
  }
  EXPECT_GT(later["last_seen"].get<std::string>(), first["last_seen"].get<std::string>());
  EXPECT_EQ(later["version"], "0.9");

  // A new version is written by the probe itself, and survives a restart at once.
  device["version"] = "0.9.1";
  ASSERT_EQ(server_.Probe(device).status, 404);
  EXPECT_EQ(shown()["version"], "0.9.1");
  server_.Stop();
  server_.Start();
  EXPECT_EQ(shown()["version"], "0.9.1");
}

TEST_F(PeopleTest, LastSeenPendingAtShutdownIsWritten) {
  json device = ServerFixture::DeviceBody("shutdown", "0.9");
  ASSERT_EQ(server_.Probe(device).status, 404);
  const auto first =
      json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"][0]["last_seen"];
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(server_.Probe(device).status, 404);
  server_.Stop();  // graceful: the batch is flushed even if no tick ran
  server_.Start();
  const auto after =
      json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"][0]["last_seen"];
  EXPECT_GT(after.get<std::string>(), first.get<std::string>());
}

}  // namespace
}  // namespace uh::server::testing
