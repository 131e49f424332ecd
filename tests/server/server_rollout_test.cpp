// Rollouts end to end over real HTTP: devices probe like upstream's agent, download with Range,
// report, and the server moves the rollout through its stages, thresholds and controls.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "core/hash.hpp"
#include "package/signature.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;

const std::string kVersion = "1.0.0";

class RolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  // Devices "dev0".."devN-1" at version 0.9 introduce themselves (no rollout yet: 404).
  std::vector<json> Devices(int count, const std::string& prefix = "dev") {
    std::vector<json> devices;
    for (int i = 0; i < count; ++i) {
      devices.push_back(ServerFixture::DeviceBody(prefix + std::to_string(i), "0.9"));
      EXPECT_EQ(server_.Probe(devices.back()).status, 404);
    }
    return devices;
  }

  json CreateRollout(json definition) {
    definition["package"] = kUid;
    auto created = server_.Api(
        "POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts", definition);
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body);
  }

  json Show(std::int64_t id) {
    auto shown = server_.Api("GET", "/api/v1/rollouts/" + std::to_string(id));
    EXPECT_EQ(shown.status, 200) << shown.body;
    return json::parse(shown.body);
  }

  std::int64_t Count(const json& rollout, const char* state) {
    return rollout["statistics"]["states"][state]["count"].get<std::int64_t>();
  }

  // The whole update of one device, as an agent does it: report each step, then probe with
  // the new version after "rebooting".
  void Update(json device) {
    for (const char* status :
         {"downloading", "downloaded", "installing", "installed", "rebooting"}) {
      ASSERT_EQ(server_.Report(device, status, kUid).status, 200);
    }
    device["version"] = kVersion;
    EXPECT_EQ(server_.Probe(device).status, 404);
  }

  ServerFixture server_;
};

TEST_F(RolloutTest, StagedRolloutGoesFromFirstStageToAllDevices) {
  auto devices = Devices(20);
  json rollout = CreateRollout({{"stages", {25, 100}}});
  EXPECT_EQ(rollout["state"], "running");

  // Exactly 25% are offered now; the 200 body is the exact metadata and the signature verifies.
  const std::string metadata =
      uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json");
  auto key = package::PublicKey::Load(uh::testing::TestPackagesDir() / "key.pub");
  ASSERT_TRUE(key);
  std::vector<json> first;
  for (const auto& device : devices) {
    auto answer = server_.Probe(device);
    if (answer.status == 404) continue;
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.body, metadata);
    EXPECT_TRUE(key->VerifyBase64(answer.body, answer.headers["uh-signature"]));
    first.push_back(device);
  }
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(Count(Show(rollout["id"]), "pending"), 20);

  for (const auto& device : first) Update(device);
  json shown = Show(rollout["id"]);
  EXPECT_EQ(Count(shown, "updated"), 5);
  EXPECT_EQ(shown["current_stage"], 1);  // the first stage succeeded: the next one started

  for (const auto& device : devices) {
    if (std::find(first.begin(), first.end(), device) != first.end()) continue;  // updated
    ASSERT_EQ(server_.Probe(device).status, 200) << device.dump();
    Update(device);
  }
  shown = Show(rollout["id"]);
  EXPECT_EQ(shown["state"], "finished");
  EXPECT_TRUE(shown["archived"].get<bool>());
  EXPECT_EQ(Count(shown, "updated"), 20);
  EXPECT_DOUBLE_EQ(shown["statistics"]["states"]["updated"]["percent"].get<double>(), 100.0);
  auto metrics = Fetch(server_.Url("/metrics")).body;
  const std::string product = std::string("updatehub_rollouts{product=\"") + kConformanceProduct;
  EXPECT_THAT(metrics, HasSubstr(product + "\",state=\"finished\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr(product + "\",state=\"running\"} 0\n"));
  // The reports are in each device's history.
  auto list = json::parse(server_.Api("GET", "/api/v1/devices?limit=1").body);
  auto history = json::parse(
      server_.Api("GET", "/api/v1/devices/" + std::to_string(list["devices"][0]["id"].get<int>()))
          .body);
  EXPECT_GE(history["reports"].size(), 1u);
}

TEST_F(RolloutTest, DevicesWaitingForTheirStageAreAskedToProbeAgainWhenConfigured) {
  auto devices = Devices(4);
  json rollout = CreateRollout({{"stages", {{{"percent", 50}, {"manual", true}}, 100}}});
  const std::string path = "/api/v1/rollouts/" + std::to_string(rollout["id"].get<int>());
  std::vector<json> waiting;
  for (const auto& device : devices) {
    auto answer = server_.Probe(device);
    if (answer.status == 200) continue;
    EXPECT_EQ(answer.status, 404);  // off by default, as upstream's server
    EXPECT_EQ(answer.headers.count("add-extra-poll"), 0u);
    waiting.push_back(device);
  }
  ASSERT_EQ(waiting.size(), 2u);

  server_.Stop();
  server_.config().waiting_poll_seconds = 7;
  server_.Start();
  for (const auto& device : waiting) {
    auto answer = server_.Probe(device);
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.headers["add-extra-poll"], "7");
    EXPECT_EQ(answer.headers.count("uh-signature"), 0u);
  }
  // A device no rollout selected, and a paused rollout's devices, still hear "no update".
  auto other = ServerFixture::DeviceBody("elsewhere", "0.9", "board-a", std::string(64, 'e'));
  EXPECT_EQ(server_.Probe(other).status, 404);
  ASSERT_EQ(server_.Api("POST", path + "/pause").status, 200);
  auto paused = server_.Probe(waiting[0]);
  EXPECT_EQ(paused.status, 404);
  EXPECT_EQ(paused.headers.count("add-extra-poll"), 0u);
  // Once their stage starts, the waiting devices get the package.
  ASSERT_EQ(server_.Api("POST", path + "/resume").status, 200);
  ASSERT_EQ(server_.Api("POST", path + "/advance").status, 200);
  for (const auto& device : waiting) EXPECT_EQ(server_.Probe(device).status, 200);
}

TEST_F(RolloutTest, DownloadsServeExactRangesAndResume) {
  auto devices = Devices(1);
  CreateRollout(json::object());
  ASSERT_EQ(server_.Probe(devices[0]).status, 200);
  const std::string url = server_.Url(std::string("/products/") + kConformanceProduct +
                                      "/packages/" + kUid + "/objects/" + kRootfs);
  auto whole = Fetch(url);
  ASSERT_EQ(whole.status, 200);
  ASSERT_EQ(whole.body.size(), 1048576u);
  EXPECT_EQ(Sha256Hex(whole.body), kRootfs);
  // An interrupted download resumed at exactly the length it has.
  auto head = Fetch(url, {.range = "0-99999"});
  ASSERT_EQ(head.status, 206);
  EXPECT_EQ(head.headers["content-range"], "bytes 0-99999/1048576");
  auto rest = Fetch(url, {.range = "100000-"});
  ASSERT_EQ(rest.status, 206);
  EXPECT_EQ(Sha256Hex(head.body + rest.body), kRootfs);
  EXPECT_EQ(Fetch(url, {.range = "2000000-"}).status, 416);
  // Only objects of that package of that product.
  const std::string other = std::string(64, 'e');
  EXPECT_EQ(Fetch(server_.Url(std::string("/products/") + kConformanceProduct + "/packages/" +
                              kUid + "/objects/" + other))
                .status,
            404);
  EXPECT_EQ(Fetch(server_.Url("/products/" + std::string(64, 'f') + "/packages/" + kUid +
                              "/objects/" + kRootfs))
                .status,
            404);
  auto metrics = Fetch(server_.Url("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("updatehub_probes_offered_total 1"));
}

TEST_F(RolloutTest, ProbeAnswersEachCase) {
  auto devices = Devices(2);
  // Wrong product.
  EXPECT_EQ(
      server_.Probe(ServerFixture::DeviceBody("x", "0.9", "board-a", std::string(64, '0'))).status,
      404);
  CreateRollout(json::object());
  // Unsupported hardware: never offered.
  EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody("c", "0.9", "board-c")).status, 404);
  // Already at the package's version: updated without downloading.
  json current = ServerFixture::DeviceBody("new", kVersion);
  EXPECT_EQ(server_.Probe(current).status, 404);
  // Selected and behind: offered (a device that appeared after the start joins).
  EXPECT_EQ(server_.Probe(devices[0]).status, 200);
  EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody("late", "0.9")).status, 200);
}

TEST_F(RolloutTest, FailureThresholdPausesAndResumeNeedsAHigherOne) {
  auto devices = Devices(10);
  json rollout = CreateRollout({{"failure_threshold", {{"percent", 20}, {"min_attempted", 5}}}});
  for (const auto& device : devices) ASSERT_EQ(server_.Probe(device).status, 200);
  // One error does not stop a rollout...
  ASSERT_EQ(server_.Report(devices[0], "downloading", kUid).status, 200);
  ASSERT_EQ(server_.Report(devices[0], "error", kUid, "validation failed: rolled back").status,
            200);
  for (int i = 1; i < 5; ++i) Update(devices[i]);
  EXPECT_EQ(Show(rollout["id"])["state"], "running");  // 1 of 5 failed: 20%, not more
  // ...but passing the threshold pauses it, with the reason.
  ASSERT_EQ(server_.Report(devices[5], "error", kUid, "no space").status, 200);
  json shown = Show(rollout["id"]);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_THAT(shown["reason"].get<std::string>(), HasSubstr("2 of 6 attempted devices failed"));
  EXPECT_EQ(Count(shown, "failed"), 2);
  EXPECT_EQ(server_.Probe(devices[6]).status, 404);  // paused: nobody new starts
  // The device's history has the error.
  auto resume =
      server_.Api("POST", "/api/v1/rollouts/" + std::to_string(shown["id"].get<int>()) + "/resume");
  EXPECT_EQ(resume.status, 409);
  EXPECT_THAT(resume.body, HasSubstr("still exceeded"));
  resume =
      server_.Api("POST", "/api/v1/rollouts/" + std::to_string(shown["id"].get<int>()) + "/resume",
                  {{"failure_threshold", {{"percent", 50}}}});
  EXPECT_EQ(resume.status, 200) << resume.body;
  EXPECT_EQ(server_.Probe(devices[6]).status, 200);
}

// Who failed and why, page by page: the rollout's devices with their stage, state and error.
TEST_F(RolloutTest, RolloutDevicesShowEachOnesStateAndError) {
  auto devices = Devices(5);
  json rollout = CreateRollout({{"stages", {100}}});
  const std::string path = "/api/v1/rollouts/" + std::to_string(rollout["id"].get<int>());
  for (const auto& device : devices) ASSERT_EQ(server_.Probe(device).status, 200);
  ASSERT_EQ(
      server_.Report(devices[1], "error", kUid, "validate-callback failed: no network").status,
      200);
  Update(devices[2]);
  ASSERT_EQ(server_.Report(devices[3], "downloading", kUid).status, 200);

  auto failed = server_.Api("GET", path + "/devices?state=failed");
  ASSERT_EQ(failed.status, 200) << failed.body;
  json body = json::parse(failed.body);
  ASSERT_EQ(body["devices"].size(), 1u);
  EXPECT_EQ(body["devices"][0]["state"], "failed");
  EXPECT_EQ(body["devices"][0]["stage"], 0);
  EXPECT_EQ(body["devices"][0]["error_message"], "validate-callback failed: no network");
  EXPECT_FALSE(body.contains("next_after"));
  auto device = json::parse(
      server_
          .Api("GET", "/api/v1/devices/" +
                          std::to_string(body["devices"][0]["device_id"].get<std::int64_t>()))
          .body);
  EXPECT_EQ(device["identity"]["serial"], devices[1]["device-identity"]["serial"]);
  EXPECT_EQ(json::parse(server_.Api("GET", path + "/devices?state=updated").body)["devices"].size(),
            1u);
  EXPECT_EQ(
      json::parse(server_.Api("GET", path + "/devices?state=downloading").body)["devices"].size(),
      1u);

  // Every device once, in pages of two.
  std::set<std::int64_t> seen;
  std::string after = "0";
  for (int page = 0; page < 3; ++page) {
    auto listed = server_.Api("GET", path + "/devices?limit=2&after=" + after);
    ASSERT_EQ(listed.status, 200) << listed.body;
    json items = json::parse(listed.body);
    for (const auto& item : items["devices"]) seen.insert(item["device_id"].get<std::int64_t>());
    if (!items.contains("next_after")) break;
    after = std::to_string(items["next_after"].get<std::int64_t>());
  }
  EXPECT_EQ(seen.size(), 5u);

  for (const char* bad : {"?state=lost", "?limit=0", "?limit=1001", "?after=-1", "?colour=red"}) {
    EXPECT_EQ(server_.Api("GET", path + "/devices" + bad).status, 400) << bad;
  }
  EXPECT_EQ(server_.Api("GET", "/api/v1/rollouts/999/devices").status, 404);
  EXPECT_EQ(Fetch(server_.Url(path + "/devices")).status, 401);  // people only
}

TEST_F(RolloutTest, PauseResumeStopAndScheduledStart) {
  auto devices = Devices(4);
  json scheduled = CreateRollout({{"start_at", "2099-01-01T00:00:00Z"}});
  EXPECT_EQ(scheduled["state"], "scheduled");
  EXPECT_EQ(server_.Probe(devices[0]).status, 404);  // waits for its time
  const std::string base = "/api/v1/rollouts/" + std::to_string(scheduled["id"].get<int>());
  EXPECT_EQ(server_.Api("POST", base + "/pause").status, 409);
  ASSERT_EQ(server_.Api("POST", base + "/start").status, 200);
  EXPECT_EQ(server_.Probe(devices[0]).status, 200);
  ASSERT_EQ(server_.Api("POST", base + "/pause").status, 200);
  EXPECT_EQ(server_.Probe(devices[1]).status, 404);
  ASSERT_EQ(server_.Api("POST", base + "/resume").status, 200);
  EXPECT_EQ(server_.Probe(devices[1]).status, 200);
  ASSERT_EQ(server_.Api("POST", base + "/stop").status, 200);
  EXPECT_EQ(server_.Probe(devices[2]).status, 404);
  EXPECT_EQ(server_.Api("POST", base + "/resume").status, 409);  // archived
  EXPECT_EQ(server_.Api("POST", base + "/explode").status, 409);
  // A stopped rollout frees its devices for a new one.
  CreateRollout(json::object());
  EXPECT_EQ(server_.Probe(devices[2]).status, 200);
}

TEST_F(RolloutTest, StartAtInThePastOrSoonStartsByItself) {
  auto devices = Devices(2);
  json soon = CreateRollout(
      {{"start_at", FormatTime(std::chrono::system_clock::now() + std::chrono::seconds(1))}});
  EXPECT_EQ(soon["state"], "scheduled");
  // The ticker starts it once the time has come.
  for (int i = 0; i < 60 && Show(soon["id"])["state"] != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Show(soon["id"])["state"], "running");
  EXPECT_EQ(server_.Probe(devices[0]).status, 200);
}

TEST_F(RolloutTest, ManualStageWaitsForAdvance) {
  auto devices = Devices(4);
  json rollout = CreateRollout({{"stages", {{{"percent", 50}, {"manual", true}}, 100}}});
  std::vector<json> offered;
  for (const auto& device : devices) {
    if (server_.Probe(device).status == 200) offered.push_back(device);
  }
  ASSERT_EQ(offered.size(), 2u);
  for (const auto& device : offered) Update(device);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 0);
  ASSERT_EQ(
      server_
          .Api("POST", "/api/v1/rollouts/" + std::to_string(rollout["id"].get<int>()) + "/advance")
          .status,
      200);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 1);
}

// A filter rollout made before any device has probed: the first devices to join must not find
// every stage already passed (empty stages used to succeed at once, offering everyone).
TEST_F(RolloutTest, FilterRolloutCreatedBeforeItsDevicesStillGoesStageByStage) {
  json rollout = CreateRollout({{"stages", {25, 100}}});
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 0);
  std::vector<json> offered;
  std::vector<json> waiting;
  for (int i = 0; i < 40; ++i) {
    json device = ServerFixture::DeviceBody("late" + std::to_string(i), "0.9");
    auto answer = server_.Probe(device);
    ASSERT_TRUE(answer.status == 200 || answer.status == 404) << answer.status;
    (answer.status == 200 ? offered : waiting).push_back(device);
    if (i == 0) {
      EXPECT_EQ(answer.status, 200) << "the first newcomer starts the first stage";
    }
  }
  // Each later newcomer lands in the first stage with a 25 % chance: all 39 doing so would be
  // a 1-in-10^23 event.
  ASSERT_FALSE(waiting.empty());
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 0);
  for (const auto& device : offered) Update(device);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 1);
  for (const auto& device : waiting) {
    ASSERT_EQ(server_.Probe(device).status, 200);
    Update(device);
  }
  EXPECT_EQ(Show(rollout["id"])["state"], "finished");
}

// Three devices and a 10 % first stage: the stage still gets one device, and the others wait
// for it (before, the empty first stage passed at once and all three were offered together).
TEST_F(RolloutTest, SmallFleetFirstStageGetsOneDevice) {
  auto devices = Devices(3);
  json rollout = CreateRollout({{"stages", {10, 100}}});
  std::vector<json> offered;
  for (const auto& device : devices) {
    if (server_.Probe(device).status == 200) offered.push_back(device);
  }
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 0);
  Update(offered[0]);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 1);
  for (const auto& device : devices) {
    if (device == offered[0]) continue;
    ASSERT_EQ(server_.Probe(device).status, 200);
    Update(device);
  }
  EXPECT_EQ(Show(rollout["id"])["state"], "finished");
}

TEST_F(RolloutTest, RestartMidRolloutLosesNothing) {
  auto devices = Devices(6);
  json rollout = CreateRollout({{"stages", {50, 100}}});
  std::vector<json> offered;
  for (const auto& device : devices) {
    if (server_.Probe(device).status == 200) offered.push_back(device);
  }
  ASSERT_EQ(offered.size(), 3u);
  Update(offered[0]);
  ASSERT_EQ(server_.Report(offered[1], "downloading", kUid).status, 200);

  server_.Stop();
  server_.Start();

  json shown = Show(rollout["id"]);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(Count(shown, "updated"), 1);
  EXPECT_EQ(Count(shown, "downloading"), 1);
  Update(offered[1]);
  Update(offered[2]);
  EXPECT_EQ(Show(rollout["id"])["current_stage"], 1);
  for (const auto& device : devices) {
    if (std::find(offered.begin(), offered.end(), device) != offered.end()) continue;
    ASSERT_EQ(server_.Probe(device).status, 200);
    Update(device);
  }
  EXPECT_EQ(Show(rollout["id"])["state"], "finished");
}

TEST_F(RolloutTest, RolloutDefinitionsAreValidated) {
  const std::string path = std::string("/api/v1/products/") + kConformanceProduct + "/rollouts";
  EXPECT_EQ(server_.Api("POST", path, {{"package", std::string(64, 'd')}}).status, 404);
  EXPECT_EQ(server_.Api("POST", path, {{"package", kUid}, {"stages", {50}}}).status, 400);
  EXPECT_EQ(server_
                .Api("POST", "/api/v1/products/" + std::string(64, 'f') + "/rollouts",
                     {{"package", kUid}})
                .status,
            404);
  EXPECT_EQ(server_.Api("GET", "/api/v1/rollouts/77").status, 404);
}

}  // namespace
}  // namespace uh::server::testing
