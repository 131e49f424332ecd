// Two servers sharing one database, as behind a load balancer: each device talks to either,
// and the rollout's quotas, its failure threshold and its controls hold for the whole fleet,
// also when requests reach both at the same moment and when one server dies. On SQLite the two
// share the database file; in server_test_postgres, a PostgreSQL database.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "core/hash.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kTwoServersVersion = "1.0.0";

class TwoServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The second server works on the first one's database, with its own data directory; both
    // keep the objects in one directory.
    const auto objects = first_.dir.path() / "shared-objects";
    first_.Stop();
    first_.config().objects_dir = objects;
    first_.Start();
    second_.Stop();
    second_.config().database = first_.config().DatabaseUrl();
    second_.config().objects_dir = objects;
    second_.Start();
    first_.SetUpConformanceProduct();
    auto uploaded = first_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
    first_.SetNow(kStart);
    second_.SetNow(kStart);
  }

  ServerFixture& Server(std::size_t device) { return device % 2 == 0 ? first_ : second_; }

  json Show(std::int64_t id) {
    auto shown = first_.Api("GET", "/api/v1/rollouts/" + std::to_string(id));
    EXPECT_EQ(shown.status, 200) << shown.body;
    return json::parse(shown.body);
  }

  static std::int64_t Count(const json& rollout, const char* state) {
    return rollout["statistics"]["states"][state]["count"].get<std::int64_t>();
  }

  // Every device probes once, through its server, several at a time; the devices offered the
  // package (200), in device order.
  std::vector<std::size_t> ProbeAll(const std::vector<json>& devices) {
    std::mutex mutex;
    std::set<std::size_t> offered;
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < devices.size(); i = next++) {
          auto answer = Server(i).Probe(devices[i]);
          EXPECT_TRUE(answer.status == 200 || answer.status == 404) << answer.status;
          if (answer.status == 200) {
            std::lock_guard lock(mutex);
            offered.insert(i);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    return {offered.begin(), offered.end()};
  }

  const std::chrono::system_clock::time_point kStart = *ParseTime("2030-05-06T10:00:00Z");
  ServerFixture first_;
  ServerFixture second_;
};

TEST_F(TwoServersTest, QuotasThresholdAndControlsHoldAcrossServers) {
  constexpr std::size_t kDevices = 40;
  std::vector<json> devices;
  for (std::size_t i = 0; i < kDevices; ++i) {
    devices.push_back(ServerFixture::DeviceBody("two-" + std::to_string(i), "0.9"));
    ASSERT_EQ(Server(i).Probe(devices.back()).status, 404);
  }
  auto created =
      second_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                  {{"package", kUid},
                   {"rate_per_hour", 10},
                   {"failure_threshold", {{"percent", 30}, {"min_attempted", 10}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::int64_t id = json::parse(created.body)["id"];

  // The whole fleet asks both servers at once: exactly the hour's 10 start.
  const std::vector<std::size_t> first = ProbeAll(devices);
  ASSERT_EQ(first.size(), 10u);
  // The package went to the first server; both serve its objects.
  for (ServerFixture* server : {&first_, &second_}) {
    auto object = http::testing::Fetch(server->Url(std::string("/products/") + kConformanceProduct +
                                                   "/packages/" + kUid + "/objects/" + kRootfs));
    ASSERT_EQ(object.status, 200);
    EXPECT_EQ(Sha256Hex(object.body), kRootfs);
  }
  EXPECT_EQ(ProbeAll(devices), first) << "the started ones keep their offer, nobody else starts";

  // They report through either server; 3 of 10 failing is not more than 30 %...
  for (std::size_t k = 0; k < first.size(); ++k) {
    const std::size_t i = first[k];
    ServerFixture& server = Server(k);  // not the server they probed: any of the two
    ASSERT_EQ(server.Report(devices[i], "downloading", kUid).status, 200);
    if (k < 3) {
      ASSERT_EQ(server.Report(devices[i], "error", kUid, "disk " + std::to_string(k)).status, 200);
    } else {
      ASSERT_EQ(server.Report(devices[i], "installed", kUid).status, 200);
      json updated = devices[i];
      updated["version"] = kTwoServersVersion;
      ASSERT_EQ(server.Probe(updated).status, 404);
    }
  }
  json shown = Show(id);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(Count(shown, "updated"), 7);
  EXPECT_EQ(Count(shown, "failed"), 3);

  // An hour on, the next 10 start; a failure reported to the second server pauses the
  // rollout for both: the first offers nothing new from then on.
  first_.SetNow(kStart + std::chrono::hours(1));
  second_.SetNow(kStart + std::chrono::hours(1));
  std::vector<json> rest;
  std::vector<std::size_t> rest_index;
  for (std::size_t i = 0; i < kDevices; ++i) {
    if (std::find(first.begin(), first.end(), i) == first.end()) {
      rest.push_back(devices[i]);
      rest_index.push_back(i);
    }
  }
  const std::vector<std::size_t> second_batch = ProbeAll(rest);
  ASSERT_EQ(second_batch.size(), 10u);
  const json& failing = rest[second_batch[0]];
  ASSERT_EQ(second_.Report(failing, "error", kUid, "bad block").status, 200);
  ASSERT_EQ(second_.Report(rest[second_batch[1]], "error", kUid, "bad block").status, 200);
  shown = Show(id);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_THAT(shown["reason"].get<std::string>(), HasSubstr("failure threshold"));
  std::size_t waiting_one = rest.size();
  for (std::size_t k = 0; k < rest.size(); ++k) {
    if (std::find(second_batch.begin(), second_batch.end(), k) == second_batch.end()) {
      waiting_one = k;
      break;
    }
  }
  ASSERT_LT(waiting_one, rest.size());
  EXPECT_EQ(first_.Probe(rest[waiting_one]).status, 404);

  // Pausing on one server and resuming on the other: each sees the other's change at once.
  auto resumed = first_.Api("POST", "/api/v1/rollouts/" + std::to_string(id) + "/resume",
                            {{"failure_threshold", {{"percent", 90}}}});
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  auto paused = second_.Api("POST", "/api/v1/rollouts/" + std::to_string(id) + "/pause");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(first_.Probe(rest[waiting_one]).status, 404);
  auto again = first_.Api("POST", "/api/v1/rollouts/" + std::to_string(id) + "/pause");
  EXPECT_EQ(again.status, 409) << "already paused by the other server";

  // The second server dies; the first carries the rollout to its end.
  second_.Stop();
  ASSERT_EQ(first_.Api("POST", "/api/v1/rollouts/" + std::to_string(id) + "/resume").status, 200);
  for (int hour = 2; hour < 6; ++hour) {
    first_.SetNow(kStart + std::chrono::hours(hour));
    for (std::size_t k = 0; k < rest.size(); ++k) {
      auto answer = first_.Probe(rest[k]);
      if (answer.status != 200) continue;
      ASSERT_EQ(first_.Report(rest[k], "installed", kUid).status, 200);
      rest[k]["version"] = kTwoServersVersion;  // it rebooted into the update
      ASSERT_EQ(first_.Probe(rest[k]).status, 404);
    }
  }
  shown = Show(id);
  // The devices that failed stay failed; every other one updated, never more than 10 an hour.
  EXPECT_EQ(Count(shown, "failed"), 5)
      << first_.Api("GET", "/api/v1/rollouts/" + std::to_string(id) + "/devices?state=failed").body;
  EXPECT_EQ(Count(shown, "updated"), static_cast<std::int64_t>(kDevices) - 5);
  EXPECT_EQ(shown["state"], "finished");
}

TEST_F(TwoServersTest, ConcurrentControlsOnBothServersEndInOneConsistentState) {
  std::vector<json> devices;
  for (std::size_t i = 0; i < 6; ++i) {
    devices.push_back(ServerFixture::DeviceBody("ctl-" + std::to_string(i), "0.9"));
    ASSERT_EQ(Server(i).Probe(devices.back()).status, 404);
  }
  auto created =
      first_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                 {{"package", kUid}, {"stages", {50, 100}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string path = "/api/v1/rollouts/" + json::parse(created.body)["id"].dump();
  // Both servers pause the same rollout at the same moment: one pauses it, the other is told
  // it is not running; never two pauses, never an error.
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> ok{0};
    std::atomic<int> conflict{0};
    std::thread a([&] {
      const int status = first_.Api("POST", path + "/pause").status;
      (status == 200 ? ok : conflict) += (status == 200 || status == 409) ? 1 : 100;
    });
    std::thread b([&] {
      const int status = second_.Api("POST", path + "/pause").status;
      (status == 200 ? ok : conflict) += (status == 200 || status == 409) ? 1 : 100;
    });
    a.join();
    b.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(conflict.load(), 1) << "round " << round;
    EXPECT_EQ(json::parse(first_.Api("GET", path).body)["state"], "paused");
    ASSERT_EQ(second_.Api("POST", path + "/resume").status, 200);
  }
  EXPECT_EQ(json::parse(second_.Api("GET", path).body)["state"], "running");
}

// The value of updatehub_timed_work_leader on the server's /metrics, or -1.
int TimedWorkLeader(ServerFixture& server) {
  const std::string page = http::testing::Fetch(server.Url("/metrics")).body;
  const std::string name = "\nupdatehub_timed_work_leader ";
  const auto at = page.find(name);
  if (at == std::string::npos) return -1;
  return std::stoi(page.substr(at + name.size(), 1));
}

// Waits (up to 20 s) until `leaders` says (first, second).
bool WaitForLeaders(ServerFixture& first, ServerFixture& second, std::pair<int, int> leaders) {
  for (int i = 0; i < 400; ++i) {
    if (std::pair(TimedWorkLeader(first), TimedWorkLeader(second)) == leaders) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_F(TwoServersTest, TimedWorkIsDoneByOneServerAtATimeAndPassesOnWhenItStops) {
  // One of the two leads (either may be first).
  bool one_leads = false;
  for (int i = 0; i < 400 && !one_leads; ++i) {
    const int a = TimedWorkLeader(first_);
    const int b = TimedWorkLeader(second_);
    one_leads = a + b == 1 && a >= 0 && b >= 0;
    if (!one_leads) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(one_leads);
  // Several ticks later, still only that one.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const bool first_leads = TimedWorkLeader(first_) == 1;
  EXPECT_EQ(TimedWorkLeader(first_) + TimedWorkLeader(second_), 1);
  ServerFixture& leader = first_leads ? first_ : second_;
  ServerFixture& other = first_leads ? second_ : first_;

  // The leader stops (giving its lease up): the other takes the timed work at its next tick,
  // and does it: a scheduled rollout starts when its time comes.
  leader.Stop();
  ASSERT_TRUE(WaitForLeaders(other, other, {1, 1}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(other.Probe(ServerFixture::DeviceBody("dev" + std::to_string(i), "0.9")).status, 404);
  }
  auto created =
      other.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                {{"package", kUid}, {"start_at", FormatTime(kStart + std::chrono::minutes(1))}});
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = json::parse(created.body)["id"].get<std::int64_t>();
  EXPECT_EQ(json::parse(created.body)["state"], "scheduled");
  other.SetNow(kStart + std::chrono::minutes(2));
  std::string state;
  for (int i = 0; i < 200 && state != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = json::parse(other.Api("GET", "/api/v1/rollouts/" + std::to_string(id)).body)["state"];
  }
  EXPECT_EQ(state, "running");
}

TEST_F(TwoServersTest, ALeaseLeftByAServerThatDiedPassesOnOnceItExpires) {
  // Both stop; a server that died holds the lease for 1.5 s more (it never releases it).
  first_.Stop();
  second_.Stop();
  first_.Start();
  ASSERT_TRUE(WaitForLeaders(first_, first_, {1, 1}));
  first_.Stop();
  {
    auto store = OpenStore(first_.config().DatabaseUrl());
    ASSERT_TRUE(store) << store.error().message();
    auto held = (*store)->HoldLease("rollouts.timed-work", "dead-server", 1500);
    ASSERT_TRUE(held) << held.error().message();
    ASSERT_TRUE(*held);
  }
  const auto started = std::chrono::steady_clock::now();
  second_.Start();
  // Not before the dead server's lease has expired.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(TimedWorkLeader(second_), 0);
  ASSERT_TRUE(WaitForLeaders(second_, second_, {1, 1}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace uh::server::testing
