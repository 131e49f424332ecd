// Rollouts end to end over real HTTP at the scale of a few hundred devices: stage shares, the
// failure threshold, controls, and the time rules (rate_per_hour, maintenance windows, start_at)
// driven by the server's frozen rollout clock (ServerFixture::SetNow).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using TimePoint = std::chrono::system_clock::time_point;

// The test package signed.uhupkg (uh::testing::TestPackagesDir()): version 1.0.0 for board-a and
// board-b.
const std::string kScaleVersion = "1.0.0";
constexpr int kFleet = 300;
constexpr std::array kStates = {"pending",   "downloading", "installing",
                                "rebooting", "updated",     "failed"};

TimePoint At(const std::string& rfc3339) {
  auto time = ParseTime(rfc3339);
  if (!time) throw std::runtime_error(time.error().message());
  return *time;
}

// Device indexes begin..end-1.
std::vector<int> Range(int begin, int end) {
  std::vector<int> out(static_cast<std::size_t>(end - begin));
  std::iota(out.begin(), out.end(), begin);
  return out;
}

// Every state's count and its percent of `total`; states not listed are expected at 0.
void ExpectStates(const json& states, const std::map<std::string, std::int64_t>& expected,
                  std::int64_t total) {
  std::int64_t sum = 0;
  for (const char* state : kStates) {
    const auto it = expected.find(state);
    const std::int64_t count = it == expected.end() ? 0 : it->second;
    const double percent =
        total == 0 ? 0.0 : 100.0 * static_cast<double>(count) / static_cast<double>(total);
    EXPECT_EQ(states[state]["count"].get<std::int64_t>(), count) << state;
    EXPECT_NEAR(states[state]["percent"].get<double>(), percent, 1e-9) << state;
    sum += count;
  }
  EXPECT_EQ(sum, total) << "the expected counts do not add up to the total";
}

class RolloutScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  // `count` more devices ("dev<index>", version 0.9) introduce themselves in creation order; no
  // rollout holds them yet, so they are told 404. Returns their indexes.
  std::vector<int> AddDevices(int count) {
    const int begin = static_cast<int>(devices_.size());
    for (int i = begin; i < begin + count; ++i) {
      devices_.push_back(ServerFixture::DeviceBody("dev" + std::to_string(i), "0.9"));
      EXPECT_EQ(server_.Probe(devices_.back()).status, 404) << "dev" << i;
    }
    return Range(begin, begin + count);
  }

  json& Device(int index) { return devices_.at(static_cast<std::size_t>(index)); }

  std::int64_t CreateRollout(json definition) {
    definition["package"] = kUid;
    auto created = server_.Api(
        "POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts", definition);
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body).value("id", std::int64_t{0});
  }

  json Show(std::int64_t id) {
    auto shown = server_.Api("GET", "/api/v1/rollouts/" + std::to_string(id));
    EXPECT_EQ(shown.status, 200) << shown.body;
    return json::parse(shown.body);
  }

  FetchResult Control(std::int64_t id, const std::string& action, const json& body = nullptr) {
    return server_.Api("POST", "/api/v1/rollouts/" + std::to_string(id) + "/" + action, body);
  }

  // Probes each of `indexes` (with the version it runs); those offered the package (200).
  std::vector<int> Offered(const std::vector<int>& indexes) {
    std::vector<int> offered;
    for (int i : indexes) {
      auto answer = server_.Probe(Device(i));
      EXPECT_TRUE(answer.status == 200 || answer.status == 404)
          << "dev" << i << ": " << answer.status << " " << answer.body;
      if (answer.status == 200) offered.push_back(i);
    }
    return offered;
  }

  void Reports(int index, std::initializer_list<const char*> statuses) {
    for (const char* status : statuses) {
      ASSERT_EQ(server_.Report(Device(index), status, kUid).status, 200)
          << "dev" << index << " " << status;
    }
  }

  // The whole update of one device, as an agent does it: report each step, then probe with the
  // new version after "rebooting".
  void Update(int index) {
    Reports(index, {"downloading", "downloaded", "installing", "installed", "rebooting"});
    CameBackUpdated(index);
  }

  // The device probes running the package's version: that is what makes it "updated", whatever
  // reports came before. Most devices here update this way, because each report is a durable
  // write (~10 ms) and the file must stay fast.
  void CameBackUpdated(int index) {
    Device(index)["version"] = kScaleVersion;
    EXPECT_EQ(server_.Probe(Device(index)).status, 404) << "dev" << index;
  }

  void Fail(int index, const std::string& message) {
    ASSERT_EQ(server_.Report(Device(index), "downloading", kUid).status, 200);
    ASSERT_EQ(server_.Report(Device(index), "error", kUid, message).status, 200);
  }

  // Waits (up to 5 s) for the 50 ms ticker to make `done` true.
  static bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 100; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // One tick of the rollout clock at `now`, run here rather than waited for: what the ticker
  // would do at that time is done (or not) when this returns, so "nothing happened" is checked
  // after the fact instead of after a sleep that a loaded machine may outlast.
  void TickAt(TimePoint now) {
    server_.SetNow(now);
    const auto ticked = server_.app().rollouts().Tick();
    ASSERT_TRUE(ticked) << ticked.error().message();
  }

  ServerFixture server_;
  std::vector<json> devices_;
};

// Those of `from` that are not in `taken`, in order.
std::vector<int> Except(const std::vector<int>& from, const std::vector<int>& taken) {
  const std::set<int> skip(taken.begin(), taken.end());
  std::vector<int> out;
  for (int i : from) {
    if (!skip.contains(i)) out.push_back(i);
  }
  return out;
}

TEST_F(RolloutScaleTest, StagesOfferExactSharesInRandomOrderAndFinish) {
  const TimePoint t0 = At("2030-03-04T12:00:00Z");
  server_.SetNow(t0);
  const std::vector<int> fleet = AddDevices(kFleet);
  const std::int64_t id =
      CreateRollout({{"stages",
                      {{{"percent", 10}, {"success_percent", 80}},
                       {{"percent", 50}, {"success_percent", 90}, {"soak_seconds", 600}},
                       100}}});

  // Stage 0: exactly 10% of the 300 devices, in random order rather than creation order.
  const std::vector<int> first = Offered(fleet);
  ASSERT_EQ(first.size(), 30u);
  EXPECT_NE(first, Range(0, 30));
  EXPECT_GE(first.back(), 150) << "the first stage is drawn from the whole fleet";
  const std::vector<int> rest = Except(fleet, first);

  // 23 of the 30 update (76.7% < 80%); the others are at each step of the way.
  for (std::size_t k = 0; k < 3; ++k) Update(first[k]);
  for (std::size_t k = 3; k < 23; ++k) CameBackUpdated(first[k]);
  Reports(first[23], {"downloading", "downloaded"});
  Reports(first[24], {"downloading", "downloaded", "installing"});
  Reports(first[25], {"downloading", "downloaded", "installing", "installed", "rebooting"});
  // first[26..29] were offered and have not reported yet: still pending.
  json shown = Show(id);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(shown["current_stage"], 0);
  {
    SCOPED_TRACE("stage 0 at 23 of 30 updated");
    const json& stats = shown["statistics"];
    EXPECT_EQ(stats["total"], kFleet);
    EXPECT_EQ(stats["attempted"], 26);
    ExpectStates(stats["states"],
                 {{"pending", 274},
                  {"downloading", 1},
                  {"installing", 1},
                  {"rebooting", 1},
                  {"updated", 23}},
                 kFleet);
    ASSERT_EQ(stats["stages"].size(), 3u);
    EXPECT_EQ(stats["stages"][0]["total"], 30);
    ExpectStates(
        stats["stages"][0]["states"],
        {{"pending", 4}, {"downloading", 1}, {"installing", 1}, {"rebooting", 1}, {"updated", 23}},
        30);
    EXPECT_EQ(stats["stages"][1]["total"], 120);
    ExpectStates(stats["stages"][1]["states"], {{"pending", 120}}, 120);
    EXPECT_EQ(stats["stages"][2]["total"], 150);
    ExpectStates(stats["stages"][2]["states"], {{"pending", 150}}, 150);
  }
  EXPECT_TRUE(Offered(rest).empty()) << "the next stage has not started";

  // The 24th update reaches 80%: stage 1 starts at once (stage 0 has no soak time).
  CameBackUpdated(first[26]);
  EXPECT_EQ(Show(id)["current_stage"], 1);
  // Exactly 40% more (120) are offered now; the unfinished devices of stage 0 still are.
  const std::vector<int> second = Offered(rest);
  ASSERT_EQ(second.size(), 120u);
  const std::vector<int> unfinished = {first[23], first[24], first[27], first[28], first[29]};
  EXPECT_EQ(Offered(unfinished), unfinished);
  for (int i : unfinished) CameBackUpdated(i);
  CameBackUpdated(first[25]);

  // Stage 1 needs 90% of the 150 devices of stages 0 and 1: 135, i.e. 105 of its own 120.
  for (std::size_t k = 0; k < 104; ++k) CameBackUpdated(second[k]);
  shown = Show(id);
  EXPECT_EQ(shown["current_stage"], 1);
  EXPECT_EQ(shown["statistics"]["stages"][1]["states"]["updated"]["count"], 104);
  CameBackUpdated(second[104]);
  // Success reached, but the stage soaks for 600 s on the frozen clock.
  shown = Show(id);
  EXPECT_EQ(shown["current_stage"], 1);
  {
    SCOPED_TRACE("stage 1 at 105 of 120 updated");
    const json& stats = shown["statistics"];
    ExpectStates(stats["stages"][0]["states"], {{"updated", 30}}, 30);
    ExpectStates(stats["stages"][1]["states"], {{"pending", 15}, {"updated", 105}}, 120);
    ExpectStates(stats["stages"][2]["states"], {{"pending", 150}}, 150);
    ExpectStates(stats["states"], {{"pending", 165}, {"updated", 135}}, kFleet);
  }
  const std::vector<int> last = Except(rest, second);
  ASSERT_EQ(last.size(), 150u);
  TickAt(t0 + seconds(599));
  EXPECT_EQ(Show(id)["current_stage"], 1) << "advanced before the soak time";
  EXPECT_TRUE(Offered(last).empty());

  // The ticker starts the last stage once the soak time has passed.
  server_.SetNow(t0 + seconds(600));
  EXPECT_TRUE(WaitFor([&] { return Show(id)["current_stage"] == 2; }));
  EXPECT_EQ(Offered(last), last);
  for (std::size_t k = 105; k < second.size(); ++k) CameBackUpdated(second[k]);
  for (int i : last) CameBackUpdated(i);

  shown = Show(id);
  EXPECT_EQ(shown["state"], "finished");
  EXPECT_TRUE(shown["archived"].get<bool>());
  EXPECT_EQ(shown["finished_at"], FormatTime(t0 + seconds(600)));
  EXPECT_EQ(shown["statistics"]["attempted"], kFleet);
  ExpectStates(shown["statistics"]["states"], {{"updated", kFleet}}, kFleet);
  ExpectStates(shown["statistics"]["stages"][2]["states"], {{"updated", 150}}, 150);
}

TEST_F(RolloutScaleTest, FailureThresholdPausesOnlyOncePassedAndResumeContinues) {
  const std::vector<int> fleet = AddDevices(kFleet);
  const std::int64_t id =
      CreateRollout({{"failure_threshold", {{"percent", 5}, {"min_attempted", 40}}}});
  // Every device is in the single stage; the first 100 are offered the package.
  ASSERT_EQ(Offered(Range(0, 100)).size(), 100u);

  // A first error: 1 of 1 attempted is 100%, but fewer than 40 devices have been attempted.
  Fail(0, "validation failed: rolled back");
  EXPECT_EQ(Show(id)["state"], "running");
  for (int i = 1; i < 4; ++i) Update(i);
  for (int i = 4; i < 58; ++i) CameBackUpdated(i);
  Fail(58, "no space left on device");
  Fail(59, "checksum mismatch");
  // 3 of 60 attempted failed: 5%, not more than the threshold.
  json shown = Show(id);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(shown["reason"], "");
  EXPECT_EQ(shown["statistics"]["attempted"], 60);

  // The 4th: 4 of 61 is 6.6%. The rollout pauses itself and says why.
  Fail(60, "bootloader refused the slot");
  shown = Show(id);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_FALSE(shown["archived"].get<bool>());
  EXPECT_THAT(shown["reason"].get<std::string>(), HasSubstr("failure threshold"));
  EXPECT_THAT(
      shown["reason"].get<std::string>(),
      HasSubstr("4 of 61 attempted devices failed (6.6%), more than the threshold of 5.0%"));
  {
    SCOPED_TRACE("paused at 4 of 61");
    const std::map<std::string, std::int64_t> paused = {
        {"pending", 239}, {"updated", 57}, {"failed", 4}};
    ExpectStates(shown["statistics"]["states"], paused, kFleet);
    ExpectStates(shown["statistics"]["stages"][0]["states"], paused, kFleet);
  }
  // Paused: neither the devices offered before nor new ones get the package.
  EXPECT_TRUE(Offered(Range(61, kFleet)).empty());

  // Resuming needs a threshold that the failures do not exceed.
  auto resume = Control(id, "resume");
  EXPECT_EQ(resume.status, 409) << resume.body;
  EXPECT_THAT(resume.body, HasSubstr("still exceeded"));
  resume = Control(id, "resume", {{"failure_threshold", {{"percent", 5}, {"min_attempted", 40}}}});
  EXPECT_EQ(resume.status, 409) << resume.body;
  EXPECT_EQ(Show(id)["state"], "paused");
  resume = Control(id, "resume", {{"failure_threshold", {{"percent", 10}, {"min_attempted", 40}}}});
  ASSERT_EQ(resume.status, 200) << resume.body;
  shown = Show(id);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(shown["reason"], "");
  EXPECT_DOUBLE_EQ(shown["failure_threshold"]["percent"].get<double>(), 10.0);

  // The failed devices are not offered the package again; the others are.
  EXPECT_TRUE(Offered({0, 58, 59, 60}).empty());
  EXPECT_EQ(Offered(Range(61, 130)), Range(61, 130));
  // The new threshold holds: 4 more failures (8 of 81, 9.9%) do not pause it again...
  for (int i = 61; i < 77; ++i) CameBackUpdated(i);
  for (int i = 77; i < 81; ++i) Fail(i, "validation failed: rolled back");
  EXPECT_EQ(Show(id)["state"], "running");
  // ...one more (9 of 82, 11.0%) does.
  Fail(81, "validation failed: rolled back");
  shown = Show(id);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_THAT(
      shown["reason"].get<std::string>(),
      HasSubstr("9 of 82 attempted devices failed (11.0%), more than the threshold of 10.0%"));
  ExpectStates(shown["statistics"]["states"], {{"pending", 218}, {"updated", 73}, {"failed", 9}},
               static_cast<std::int64_t>(fleet.size()));
}

TEST_F(RolloutScaleTest, PauseResumeAndStopMidRolloutKeepEachDevicesState) {
  const std::vector<int> fleet = AddDevices(kFleet);
  const std::int64_t id = CreateRollout(json::object());
  ASSERT_EQ(Offered(Range(0, 150)).size(), 150u);
  for (int i = 0; i < 2; ++i) Update(i);
  for (int i = 2; i < 50; ++i) CameBackUpdated(i);
  for (int i = 50; i < 60; ++i) Reports(i, {"downloading"});
  for (int i = 60; i < 65; ++i) Reports(i, {"downloading", "downloaded", "installing"});
  for (int i = 65; i < 68; ++i) {
    Reports(i, {"downloading", "downloaded", "installing", "installed", "rebooting"});
  }
  // 68..149 were offered and have not reported yet.

  ASSERT_EQ(Control(id, "pause").status, 200);
  json shown = Show(id);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_THAT(shown["reason"].get<std::string>(), ::testing::StartsWith("paused by admin at "));
  EXPECT_EQ(shown["hold_reason"], "paused: " + shown["reason"].get<std::string>());
  {
    SCOPED_TRACE("just paused");
    ExpectStates(shown["statistics"]["states"],
                 {{"pending", 232},
                  {"downloading", 10},
                  {"installing", 5},
                  {"rebooting", 3},
                  {"updated", 50}},
                 kFleet);
  }
  // Nobody is offered the package while paused, not even the devices offered before...
  EXPECT_TRUE(Offered(Range(68, kFleet)).empty());
  // ...but the devices under way go on: their reports count, and a device that comes back on
  // the new version is updated.
  for (int i = 50; i < 60; ++i) Reports(i, {"downloaded"});
  for (int i = 60; i < 65; ++i) Reports(i, {"installed"});
  for (int i = 65; i < 68; ++i) CameBackUpdated(i);
  shown = Show(id);
  EXPECT_EQ(shown["state"], "paused");
  {
    SCOPED_TRACE("paused, after the devices under way reported");
    ExpectStates(shown["statistics"]["states"],
                 {{"pending", 232}, {"downloading", 10}, {"installing", 5}, {"updated", 53}},
                 kFleet);
  }
  EXPECT_EQ(Control(id, "pause").status, 409);

  // Resumed: the rollout offers the package again, to new devices as well.
  ASSERT_EQ(Control(id, "resume").status, 200);
  EXPECT_EQ(Show(id)["state"], "running");
  EXPECT_EQ(Offered(Range(68, 200)), Range(68, 200));
  for (int i = 50; i < 60; ++i) CameBackUpdated(i);

  // Stopped: archived, nobody is offered anything, and the statistics stay as they were.
  ASSERT_EQ(Control(id, "stop").status, 200);
  shown = Show(id);
  EXPECT_EQ(shown["state"], "stopped");
  EXPECT_TRUE(shown["archived"].get<bool>());
  EXPECT_THAT(shown["reason"].get<std::string>(), ::testing::StartsWith("stopped by admin at "));
  EXPECT_TRUE(shown["hold_reason"].is_null());
  EXPECT_NE(shown["finished_at"], "");
  const std::map<std::string, std::int64_t> at_stop = {
      {"pending", 232}, {"installing", 5}, {"updated", 63}};
  {
    SCOPED_TRACE("stopped");
    ExpectStates(shown["statistics"]["states"], at_stop, kFleet);
  }
  EXPECT_TRUE(Offered(fleet).empty());
  for (const char* action : {"resume", "pause", "stop", "advance"}) {
    EXPECT_EQ(Control(id, action).status, 409) << action;
  }
  const std::string list = std::string("/api/v1/products/") + kConformanceProduct + "/rollouts";
  EXPECT_TRUE(json::parse(server_.Api("GET", list).body)["rollouts"].empty());
  EXPECT_EQ(json::parse(server_.Api("GET", list + "?archived=true").body)["rollouts"].size(), 1u);

  // The stopped rollout's devices join a new one: those at 1.0.0 count as updated, the others
  // start over, whatever they were doing in the stopped one.
  const std::int64_t next = CreateRollout(json::object());
  ASSERT_NE(next, id);
  shown = Show(next);
  EXPECT_EQ(shown["state"], "running");
  {
    SCOPED_TRACE("the new rollout");
    ExpectStates(shown["statistics"]["states"], {{"pending", 237}, {"updated", 63}}, kFleet);
  }
  std::vector<int> behind = Range(60, 65);            // installing when it was stopped
  for (int i : Range(68, 80)) behind.push_back(i);    // offered before the pause
  for (int i : Range(150, 160)) behind.push_back(i);  // offered after the resume
  for (int i : Range(200, 210)) behind.push_back(i);  // never offered
  EXPECT_EQ(Offered(behind), behind);
  for (int i = 60; i < 65; ++i) CameBackUpdated(i);
  for (int i = 68; i < 73; ++i) Reports(i, {"downloading"});
  shown = Show(next);
  EXPECT_EQ(shown["state"], "running");
  {
    SCOPED_TRACE("the new rollout, under way");
    ExpectStates(shown["statistics"]["states"],
                 {{"pending", 227}, {"downloading", 5}, {"updated", 68}}, kFleet);
  }
  // The new rollout's progress is not written into the stopped one.
  {
    SCOPED_TRACE("the stopped rollout, after the new one moved on");
    ExpectStates(Show(id)["statistics"]["states"], at_stop, kFleet);
  }
}

TEST_F(RolloutScaleTest, RatePerHourStartsOnlyThatManyDevicesEachHour) {
  const TimePoint t0 = At("2030-03-04T12:00:00Z");
  server_.SetNow(t0);
  const std::vector<int> fleet = AddDevices(120);
  const std::int64_t id = CreateRollout({{"rate_per_hour", 40}});

  const std::vector<int> first = Offered(fleet);
  ASSERT_EQ(first, Range(0, 40)) << "the first 40 to probe start";
  // Probing again does not use up the hour's budget: the devices already started keep getting
  // the package, nobody else does.
  EXPECT_EQ(Offered(first), first);
  server_.SetNow(t0 + minutes(30));
  EXPECT_TRUE(Offered(Range(40, 120)).empty());
  server_.SetNow(t0 + minutes(59) + seconds(59));
  EXPECT_TRUE(Offered(Range(40, 120)).empty());
  EXPECT_EQ(Offered(first), first);

  // An hour after the first batch started, the next 40 start.
  server_.SetNow(t0 + hours(1));
  ASSERT_EQ(Offered(Range(40, 120)), Range(40, 80))
      << "the first batch started at exactly " << FormatTime(t0);
  server_.SetNow(t0 + hours(1) + minutes(30));
  EXPECT_TRUE(Offered(Range(80, 120)).empty());
  server_.SetNow(t0 + hours(2));
  EXPECT_EQ(Offered(Range(80, 120)), Range(80, 120));

  // Starting is what is limited, not going on: every started device is still offered.
  EXPECT_EQ(Offered(fleet), fleet);
  ExpectStates(Show(id)["statistics"]["states"], {{"pending", 120}}, 120);
}

TEST_F(RolloutScaleTest, MaintenanceWindowGatesStarts) {
  server_.SetNow(At("2030-03-04T00:59:59Z"));
  const std::vector<int> fleet = AddDevices(100);
  const std::int64_t id =
      CreateRollout({{"maintenance_window", {{"start", "01:00"}, {"end", "05:00"}}}});
  EXPECT_EQ(Show(id)["state"], "running");
  // Outside the window nobody starts.
  EXPECT_TRUE(Offered(fleet).empty());
  {
    SCOPED_TRACE("before the window");
    ExpectStates(Show(id)["statistics"]["states"], {{"pending", 100}}, 100);
  }
  server_.SetNow(At("2030-03-04T01:00:00Z"));
  EXPECT_EQ(Offered(Range(0, 50)), Range(0, 50));
  server_.SetNow(At("2030-03-04T04:59:59Z"));
  EXPECT_EQ(Offered(Range(50, 60)), Range(50, 60));
  // At the end of the window (exclusive) new devices wait; those started go on.
  server_.SetNow(At("2030-03-04T05:00:00Z"));
  EXPECT_TRUE(Offered(Range(60, 100)).empty());
  EXPECT_EQ(Offered(Range(0, 60)), Range(0, 60));
  for (int i = 0; i < 10; ++i) CameBackUpdated(i);
  server_.SetNow(At("2030-03-04T23:00:00Z"));
  EXPECT_TRUE(Offered(Range(60, 100)).empty());
  {
    SCOPED_TRACE("after the window");
    ExpectStates(Show(id)["statistics"]["states"], {{"pending", 90}, {"updated", 10}}, 100);
  }
  // The next day's window.
  server_.SetNow(At("2030-03-05T02:30:00Z"));
  EXPECT_EQ(Offered(Range(60, 100)), Range(60, 100));
}

TEST_F(RolloutScaleTest, MaintenanceWindowAcrossMidnight) {
  server_.SetNow(At("2030-03-04T21:59:59Z"));
  const std::vector<int> fleet = AddDevices(100);
  const std::int64_t id =
      CreateRollout({{"maintenance_window", {{"start", "22:00"}, {"end", "02:00"}}}});
  EXPECT_TRUE(Offered(fleet).empty());
  // Both sides of midnight are inside the window.
  const std::vector<std::pair<const char*, int>> inside = {{"2030-03-04T22:00:00Z", 0},
                                                           {"2030-03-04T23:59:59Z", 20},
                                                           {"2030-03-05T00:00:00Z", 40},
                                                           {"2030-03-05T01:59:59Z", 60}};
  for (const auto& [now, from] : inside) {
    SCOPED_TRACE(now);
    server_.SetNow(At(now));
    EXPECT_EQ(Offered(Range(from, from + 20)), Range(from, from + 20));
  }
  // From 02:00 until 22:00 the others wait.
  for (const char* now : {"2030-03-05T02:00:00Z", "2030-03-05T12:00:00Z", "2030-03-05T21:59:59Z"}) {
    SCOPED_TRACE(now);
    server_.SetNow(At(now));
    EXPECT_TRUE(Offered(Range(80, 100)).empty());
  }
  server_.SetNow(At("2030-03-05T22:30:00Z"));
  EXPECT_EQ(Offered(Range(80, 100)), Range(80, 100));
  EXPECT_EQ(Show(id)["statistics"]["attempted"], 0);  // offered, but none has reported yet
}

TEST_F(RolloutScaleTest, ScheduledStartWaitsForTheFrozenClock) {
  const TimePoint t0 = At("2030-03-04T12:00:00Z");
  server_.SetNow(t0);
  const std::vector<int> early = AddDevices(200);
  const std::int64_t id =
      CreateRollout({{"start_at", FormatTime(t0 + minutes(10))}, {"stages", {10, 100}}});
  json shown = Show(id);
  EXPECT_EQ(shown["state"], "scheduled");
  EXPECT_EQ(shown["statistics"]["total"], 0);
  EXPECT_TRUE(Offered(early).empty());
  // Devices that appear before the start are part of it.
  AddDevices(100);

  TickAt(t0 + minutes(9) + seconds(59));
  EXPECT_EQ(Show(id)["state"], "scheduled");
  EXPECT_TRUE(Offered(Range(0, 300)).empty());

  // Once the frozen clock reaches start_at, the ticker starts it: 10% of all 300 are offered.
  server_.SetNow(t0 + minutes(10));
  EXPECT_TRUE(WaitFor([&] { return Show(id)["state"] == "running"; }));
  shown = Show(id);
  EXPECT_EQ(shown["started_at"], FormatTime(t0 + minutes(10)));
  EXPECT_EQ(shown["statistics"]["total"], 300);
  EXPECT_EQ(Offered(Range(0, 300)).size(), 30u);

  // A start_at the frozen clock has already reached starts the rollout at creation.
  ASSERT_EQ(Control(id, "stop").status, 200);
  const std::int64_t past = CreateRollout({{"start_at", FormatTime(t0)}});
  EXPECT_EQ(Show(past)["state"], "running");
}

}  // namespace
}  // namespace uh::server::testing
