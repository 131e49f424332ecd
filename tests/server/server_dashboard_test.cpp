// What the operator dashboard reads, over real HTTP: device search with totals, rollout
// creation checks and preview, a rollout's devices with their identity, why a rollout waits,
// the overview counts, and error bodies free of the server's internals.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  static std::string Product() { return std::string("/api/v1/products/") + kConformanceProduct; }

  // A device introduces itself (no rollout yet: 404) and is returned with its id.
  json Introduce(const std::string& serial, const std::string& version = "0.9",
                 const std::string& hardware = "board-a") {
    json device = ServerFixture::DeviceBody(serial, version, hardware);
    EXPECT_EQ(server_.Probe(device).status, 404);
    return device;
  }

  std::int64_t IdOf(const std::string& serial) {
    auto found = Get("/api/v1/devices?product=" + std::string(kConformanceProduct) +
                     "&identity.serial=" + serial);
    EXPECT_EQ(found["devices"].size(), 1u) << found;
    return found["devices"].empty() ? 0 : found["devices"][0]["id"].get<std::int64_t>();
  }

  json Get(const std::string& path) {
    auto answer = server_.Api("GET", path);
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body;
    return json::parse(answer.body, nullptr, false);
  }

  FetchResult Create(json definition) {
    definition["package"] = kUid;
    return server_.Api("POST", Product() + "/rollouts", definition);
  }

  ServerFixture server_;
};

TEST_F(DashboardTest, DeviceSearchFiltersCountsAndRefusesUnknownParameters) {
  Introduce("s1", "0.9", "board-a");
  Introduce("s2", "0.9", "board-b");
  Introduce("s3", "1.0.0", "board-a");
  const std::string base = "/api/v1/devices?product=" + std::string(kConformanceProduct);
  auto serials = [&](const std::string& query) {
    std::vector<std::string> out;
    const json found = Get(base + query);
    for (const auto& device : found["devices"]) out.push_back(device["identity"]["serial"]);
    return out;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(serials("&identity.serial=s2"), ElementsAre("s2"));
  EXPECT_THAT(serials("&identity.mac=aa:s3"), ElementsAre("s3"));  // one of a list of values
  EXPECT_THAT(serials("&hardware=board-a"), ElementsAre("s1", "s3"));
  EXPECT_THAT(serials("&version=0.9&hardware=board-a"), ElementsAre("s1"));
  EXPECT_THAT(serials("&attributes.region=eu"), ElementsAre("s1", "s2", "s3"));
  EXPECT_THAT(serials("&attributes.region=us"), ElementsAre());
  EXPECT_THAT(serials("&seen_after=2000-01-01T00:00:00Z"), ElementsAre("s1", "s2", "s3"));
  EXPECT_THAT(serials("&seen_before=2000-01-01T00:00:00Z"), ElementsAre());
  EXPECT_THAT(serials("&rollout_state=none"), ElementsAre("s1", "s2", "s3"));
  EXPECT_THAT(serials("&rollout_state=pending"), ElementsAre());

  // The total counts every match, not only the page.
  auto page = Get(base + "&limit=2");
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["devices"].size(), 2u);
  auto rest = Get(base + "&limit=2&after=" + std::to_string(page["next_after"].get<int>()));
  EXPECT_EQ(rest["total"], 3);
  EXPECT_EQ(rest["devices"].size(), 1u);
  EXPECT_EQ(Get(base + "&hardware=board-b")["total"], 1);

  // What was silently ignored is refused, by name.
  auto unknown = server_.Api("GET", "/api/v1/devices?serial=s1");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("'serial'"));
  for (const char* bad :
       {"&rollout_state=lost", "&seen_after=yesterday", "&identity.=x", "&limit=0"}) {
    EXPECT_EQ(server_.Api("GET", base + bad).status, 400) << bad;
  }
  EXPECT_EQ(server_.Api("GET", "/api/v1/packages?product=x&colour=red").status, 400);
  EXPECT_EQ(server_.Api("GET", Product() + "/rollouts?colour=red").status, 400);
  EXPECT_EQ(server_.Api("GET", Product() + "/rollouts?archived=true").status, 200);

  // Devices in a rollout are found by their state in it.
  ASSERT_EQ(Create({{"filter", {{"hardware", {"board-a"}}}}}).status, 201);
  EXPECT_THAT(serials("&rollout_state=pending"), ElementsAre("s1"));
  EXPECT_THAT(serials("&rollout_state=updated"), ElementsAre("s3"));
  EXPECT_THAT(serials("&rollout_state=none"), ElementsAre("s2"));
}

TEST_F(DashboardTest, RolloutCreationRefusesWhatWouldDoNothingAndPreviewCounts) {
  Introduce("s1");
  Introduce("s2");
  const std::int64_t s1 = IdOf("s1");

  auto unknown = Create({{"devices", {s1, 4242, 4343}}});
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_THAT(unknown.body, HasSubstr("4242, 4343"));

  auto nobody = Create({{"filter", {{"hardware", {"board-z"}}}}});
  EXPECT_EQ(nobody.status, 400) << nobody.body;
  EXPECT_THAT(nobody.body, HasSubstr("matches no device"));
  EXPECT_THAT(nobody.body, HasSubstr("wait_for_devices"));
  EXPECT_EQ(server_.Api("GET", Product() + "/rollouts").body, R"({"rollouts":[]})");

  // Preview: the same body, nothing created; reading is enough.
  auto preview = [&](json body) {
    body["package"] = kUid;
    auto answer = server_.Api("POST", Product() + "/rollouts/preview", body);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return json::parse(answer.body, nullptr, false);
  };
  EXPECT_EQ(preview(json::object())["matching_devices"], 2);
  EXPECT_EQ(preview({{"filter", {{"identity", {{"serial", "s2"}}}}}})["matching_devices"], 1);
  EXPECT_EQ(preview({{"filter", {{"hardware", {"board-z"}}}}})["matching_devices"], 0);
  EXPECT_EQ(preview({{"devices", {s1, 4242}}})["unknown_device_ids"], json({4242}));
  EXPECT_EQ(server_.Api("GET", Product() + "/rollouts").body, R"({"rollouts":[]})");

  // Waiting for devices to come is still possible, when asked for.
  auto waiting = Create({{"filter", {{"hardware", {"board-z"}}}}, {"wait_for_devices", true}});
  ASSERT_EQ(waiting.status, 201) << waiting.body;
  EXPECT_THAT(json::parse(waiting.body)["hold_reason"].get<std::string>(),
              HasSubstr("waiting for devices"));
  ASSERT_EQ(
      server_
          .Api("POST", "/api/v1/rollouts/" +
                           std::to_string(json::parse(waiting.body)["id"].get<int>()) + "/stop")
          .status,
      200);

  // A start_at that has passed starts at once, and the answer says so.
  auto past = Create({{"start_at", "2020-01-01T00:00:00Z"}});
  ASSERT_EQ(past.status, 201) << past.body;
  EXPECT_EQ(json::parse(past.body)["state"], "running");
  EXPECT_EQ(json::parse(past.body)["start_at_in_past"], true);
}

TEST_F(DashboardTest, FailedDevicesShowWhoTheyAreAndDevicesShowTheirRollout) {
  json good = Introduce("good");
  json bad = Introduce("bad", "0.9", "board-a");
  auto created = Create({{"devices", {IdOf("good"), IdOf("bad")}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string rollout =
      "/api/v1/rollouts/" + std::to_string(json::parse(created.body)["id"].get<int>());
  ASSERT_EQ(server_.Probe(bad).status, 200);
  ASSERT_EQ(server_.Report(bad, "error", kUid, "no space on /data").status, 200);

  auto failed = Get(rollout + "/devices?state=failed");
  ASSERT_EQ(failed["devices"].size(), 1u) << failed;
  const json& entry = failed["devices"][0];
  EXPECT_EQ(entry["identity"]["serial"], "bad");
  EXPECT_EQ(entry["hardware"], "board-a");
  EXPECT_EQ(entry["version"], "0.9");
  EXPECT_EQ(entry["error_message"], "no space on /data");
  EXPECT_EQ(Get(rollout + "/devices")["devices"].size(), 2u);
  EXPECT_EQ(server_.Api("GET", rollout + "/devices?serial=bad").status, 400);

  auto shown = Get("/api/v1/devices/" + std::to_string(IdOf("bad")));
  EXPECT_EQ(shown["rollout"]["id"], json::parse(created.body)["id"]);
  EXPECT_EQ(shown["rollout"]["stage"], 0);
  EXPECT_EQ(shown["rollout"]["rollout_state"], "running");
  Introduce("loner", "0.9", "board-b");
  EXPECT_TRUE(Get("/api/v1/devices/" + std::to_string(IdOf("loner")))["rollout"].is_null());
}

TEST_F(DashboardTest, EveryRolloutSaysWhyItWaits) {
  for (int i = 0; i < 4; ++i) Introduce("w" + std::to_string(i));
  auto later = Create({{"start_at", "2099-01-01T00:00:00Z"}});
  ASSERT_EQ(later.status, 201) << later.body;
  EXPECT_EQ(json::parse(later.body)["hold_reason"], "scheduled start at 2099-01-01T00:00:00Z");
  const std::string later_path =
      "/api/v1/rollouts/" + std::to_string(json::parse(later.body)["id"].get<int>());
  ASSERT_EQ(server_.Api("POST", later_path + "/stop").status, 200);
  EXPECT_TRUE(Get(later_path)["hold_reason"].is_null());

  auto staged = Create({{"stages", {50, 100}}});
  ASSERT_EQ(staged.status, 201) << staged.body;
  const std::string path =
      "/api/v1/rollouts/" + std::to_string(json::parse(staged.body)["id"].get<int>());
  EXPECT_EQ(Get(path)["hold_reason"],
            "stage 1 of 2: success share not reached (0 of 2 devices updated, 2 needed for "
            "100%)");
  ASSERT_EQ(server_.Api("POST", path + "/pause").status, 200);
  EXPECT_THAT(Get(path)["hold_reason"].get<std::string>(),
              ::testing::StartsWith("paused: paused by admin at "));
  // The list shows the same text.
  auto listed = Get(Product() + "/rollouts");
  EXPECT_EQ(listed["rollouts"][0]["hold_reason"], Get(path)["hold_reason"]);
}

TEST_F(DashboardTest, OverviewCountsTheFleetAndListsTheLatestFailures) {
  Introduce("a1", "0.9", "board-a");
  Introduce("a2", "0.9", "board-a");
  json b1 = Introduce("b1", "0.8", "board-b");
  Introduce("b2", "0.8", "board-b");
  ASSERT_EQ(Create({{"filter", {{"hardware", {"board-b"}}}}}).status, 201);
  ASSERT_EQ(server_.Probe(b1).status, 200);
  ASSERT_EQ(server_.Report(b1, "error", kUid, "disk on fire").status, 200);

  auto overview = Get("/api/v1/overview?product=" + std::string(kConformanceProduct));
  const json& devices = overview["devices"];
  EXPECT_EQ(devices["total"], 4);
  EXPECT_EQ(devices["by_version"],
            json::parse(R"([{"version":"0.8","count":2},{"version":"0.9","count":2}])"));
  EXPECT_EQ(devices["by_hardware"],
            json::parse(R"([{"hardware":"board-a","count":2},{"hardware":"board-b","count":2}])"));
  EXPECT_EQ(devices["by_rollout_state"],
            json::parse(R"([{"state":"none","count":2},{"state":"failed","count":1},)"
                        R"({"state":"pending","count":1}])"));
  EXPECT_EQ(devices["last_seen"]["last_hour"], 4);
  EXPECT_EQ(devices["last_seen"]["last_day"], 4);
  EXPECT_EQ(devices["last_seen"]["overdue"], 0);
  EXPECT_EQ(devices["last_seen"]["overdue_after_seconds"], 3 * 86400);
  ASSERT_EQ(overview["rollouts"].size(), 1u) << overview;
  EXPECT_EQ(overview["rollouts"][0]["statistics"]["states"]["failed"]["count"], 1);
  EXPECT_EQ(overview["rollouts"][0]["statistics"]["total"], 2);
  ASSERT_EQ(overview["latest_failures"].size(), 1u);
  EXPECT_EQ(overview["latest_failures"][0]["identity"]["serial"], "b1");
  EXPECT_EQ(overview["latest_failures"][0]["error_message"], "disk on fire");
  EXPECT_EQ(overview["latest_failures"][0]["package"], kUid);

  // Three poll intervals later, everyone is overdue.
  server_.SetNow(std::chrono::system_clock::now() + std::chrono::hours(24 * 4));
  auto later = Get("/api/v1/overview");
  EXPECT_EQ(later["devices"]["last_seen"]["overdue"], 4);
  EXPECT_EQ(later["devices"]["last_seen"]["last_day"], 0);

  EXPECT_EQ(server_.Api("GET", "/api/v1/overview?colour=red").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/overview?product=" + std::string(64, 'e')).status, 404);
}

// The overview holds no time of its own: polled again as time passes and nothing changes, it
// is a 304; a change in the fleet is a 200 with a new ETag.
TEST_F(DashboardTest, AnUnchangedOverviewIsNotModified) {
  Introduce("o1");
  const std::string path = "/api/v1/overview?product=" + std::string(kConformanceProduct);
  FetchResult first = server_.Api("GET", path);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(json::parse(first.body).contains("generated_at")) << first.body;
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto again = [&] {
    return Fetch(server_.Url(path),
                 {.headers = {"Authorization: Bearer " + server_.token, "If-None-Match: " + etag}});
  };
  server_.SetNow(std::chrono::system_clock::now() + std::chrono::seconds(30));
  FetchResult same = again();
  EXPECT_EQ(same.status, 304) << same.body;
  EXPECT_EQ(same.body, "");

  Introduce("o2");
  FetchResult changed = again();
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.headers["etag"], etag);
  EXPECT_EQ(json::parse(changed.body)["devices"]["total"], 2);
}

// GET /api/v1/devices/{id} shows the latest reports only, as the history does (a log excerpt,
// not the whole log); the history pages through the rest.
TEST_F(DashboardTest, ADeviceShowsItsTenLatestReports) {
  json device = Introduce("chatty");
  ASSERT_EQ(Create({{"stages", {100}}}).status, 201);
  ASSERT_EQ(server_.Probe(device).status, 200);
  for (int i = 0; i < 11; ++i) {
    ASSERT_EQ(server_.Report(device, i % 2 == 0 ? "downloading" : "downloaded", kUid).status, 200);
  }
  ASSERT_EQ(server_.Report(device, "error", kUid, "disk on fire").status, 200);

  const std::string path = "/api/v1/devices/" + std::to_string(IdOf("chatty"));
  const json shown = Get(path);
  ASSERT_EQ(shown["reports"].size(), 10u) << shown;
  const json& newest = shown["reports"][0];
  EXPECT_EQ(newest["status"], "error");
  EXPECT_EQ(newest["error_message"], "disk on fire");
  EXPECT_FALSE(newest.contains("current_log"));
  EXPECT_EQ(newest["log_excerpt"], "log line\n");
  EXPECT_EQ(newest["log_truncated"], false);
  EXPECT_EQ(shown["reports"][9]["status"], "downloading");  // the third report of twelve
  EXPECT_EQ(Get(path + "/history?limit=100")["reports"].size(), 12u);
}

// Reads need the scope read; a user limited to some products names one, as on other listings.
TEST_F(DashboardTest, ProductLimitedViewersNameTheirProduct) {
  Introduce("v1");
  auto created = server_.Api("POST", "/api/v1/users",
                             {{"username", "limited"},
                              {"password", "tulip engine 41"},
                              {"role", "viewer"},
                              {"products", {kConformanceProduct}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto login =
      Fetch(server_.Url("/api/v1/login"),
            {.method = "POST",
             .body = json{{"username", "limited"}, {"password", "tulip engine 41"}}.dump()});
  ASSERT_EQ(login.status, 200) << login.body;
  server_.token = json::parse(login.body)["token"];
  const std::string mine = std::string("?product=") + kConformanceProduct;
  EXPECT_EQ(server_.Api("GET", "/api/v1/overview").status, 403);
  EXPECT_EQ(server_.Api("GET", "/api/v1/overview" + mine).status, 200);
  EXPECT_EQ(server_.Api("GET", "/api/v1/overview?product=" + std::string(64, 'e')).status, 403);
  EXPECT_EQ(server_.Api("GET", "/api/v1/devices?identity.serial=v1").status, 403);
  auto found = server_.Api("GET", "/api/v1/devices" + mine + "&identity.serial=v1");
  EXPECT_EQ(found.status, 200);
  EXPECT_EQ(json::parse(found.body)["total"], 1);
  auto preview = server_.Api("POST", Product() + "/rollouts/preview", {{"package", kUid}});
  EXPECT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(json::parse(preview.body)["matching_devices"], 1);
  EXPECT_EQ(Create(json::object()).status, 403);  // a viewer creates nothing
}

TEST_F(DashboardTest, ErrorBodiesCarryNoSqlNorServerPaths) {
  // The products table's unique key, violated through the API.
  auto again =
      server_.Api("POST", "/api/v1/products", {{"uid", kConformanceProduct}, {"name", "x"}});
  EXPECT_EQ(again.status, 409);
  const std::string pem = uh::testing::ReadFile(uh::testing::TestPackagesDir() / "key.pub");
  auto key_again = server_.Api("POST", Product() + "/keys", {{"public_key", pem}});
  EXPECT_EQ(key_again.status, 409);
  for (const auto& answer : {again, key_again}) {
    SCOPED_TRACE(answer.body);
    EXPECT_THAT(answer.body, HasSubstr("already"));
    for (const char* internal :
         {"constraint", "UNIQUE", "sqlite", "products.uid", "signing_keys", "fingerprint)"}) {
      EXPECT_THAT(answer.body, Not(HasSubstr(internal)));
    }
    EXPECT_THAT(answer.body, Not(HasSubstr(server_.dir.path().string())));
  }
}

}  // namespace
}  // namespace uh::server::testing
