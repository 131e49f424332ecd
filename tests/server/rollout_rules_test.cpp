#include "server/rollout_rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.hpp"

namespace uh::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kPackage(64, 'c');

Rollout Parse(json body) {
  body["package"] = kPackage;
  auto rollout = RolloutFromJson(body);
  EXPECT_TRUE(rollout) << body.dump() << ": " << (rollout ? "" : rollout.error().message());
  return rollout ? *rollout : Rollout{};
}

std::string ErrorOf(json body) {
  if (!body.contains("package")) body["package"] = kPackage;
  auto rollout = RolloutFromJson(body);
  EXPECT_FALSE(rollout) << body.dump();
  return rollout ? "" : rollout.error().message();
}

Device MakeDevice(std::int64_t id, std::string hardware, std::string version,
                  std::string identity = R"({"mac": ["aa", "bb"], "serial": "s1"})",
                  std::string attributes = R"({"region": "eu"})") {
  Device device;
  device.id = id;
  device.hardware = std::move(hardware);
  device.version = std::move(version);
  device.identity = std::move(identity);
  device.attributes = std::move(attributes);
  return device;
}

RolloutStats Stats(std::vector<std::array<std::int64_t, kDeviceStateCount>> stages) {
  RolloutStats stats;
  stats.stages = std::move(stages);
  return stats;
}

TEST(RolloutDefinition, StagesAsNumbersOrObjects) {
  Rollout rollout = Parse({{"stages", {1, 10, {{"percent", 50}, {"soak_seconds", 60}}, 100}}});
  ASSERT_EQ(rollout.stages.size(), 4u);
  EXPECT_EQ(rollout.stages[0].percent, 1);
  EXPECT_EQ(rollout.stages[2].soak_seconds, 60);
  EXPECT_EQ(rollout.stages[3].percent, 100);
  EXPECT_EQ(Parse(json::object()).stages.size(), 1u);  // one stage of 100%
}

TEST(RolloutDefinition, RoundTripsThroughJson) {
  Rollout rollout =
      Parse({{"name", "spring"},
             {"filter", {{"hardware", {"a"}}, {"identity", {{"serial", "s1"}}}}},
             {"stages", {{{"percent", 25}, {"success_percent", 90}, {"manual", true}}, 100}},
             {"rate_per_hour", 50},
             {"start_at", "2026-12-01T02:00:00Z"},
             {"maintenance_window", {{"start", "22:30"}, {"end", "05:00"}}},
             {"failure_threshold", {{"percent", 5}, {"count", 10}, {"min_attempted", 20}}}});
  json out = ToJson(rollout);
  out.erase("id");
  json body = out;
  for (const char* key : {"product", "state", "archived", "current_stage", "reason", "created_at",
                          "started_at", "finished_at", "paused_by", "paused_at"}) {
    body.erase(key);
  }
  auto again = RolloutFromJson(body);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(ToJson(*again), ToJson(rollout));
  EXPECT_EQ(rollout.window->start_minute, 22 * 60 + 30);
  EXPECT_EQ(*rollout.threshold.count, 10);
}

TEST(RolloutDefinition, RejectsBadDefinitions) {
  EXPECT_THAT(ErrorOf({{"package", "x"}}), HasSubstr("'package'"));
  EXPECT_THAT(ErrorOf({{"stages", {50, 20, 100}}}), HasSubstr("must grow"));
  EXPECT_THAT(ErrorOf({{"stages", {10, 50}}}), HasSubstr("reach 100"));
  EXPECT_THAT(ErrorOf({{"stages", {0, 100}}}), HasSubstr("must grow"));
  EXPECT_THAT(ErrorOf({{"stages", {101}}}), HasSubstr("between"));
  EXPECT_THAT(ErrorOf({{"stages", json::array()}}), HasSubstr("1 to 100 stages"));
  EXPECT_THAT(ErrorOf({{"stages", {{{"percent", 100}, {"colour", 1}}}}}),
              HasSubstr("unknown stage key"));
  EXPECT_THAT(ErrorOf({{"devices", {1}}, {"filter", json::object()}}), HasSubstr("not both"));
  EXPECT_THAT(ErrorOf({{"devices", json::array()}}), HasSubstr("non-empty"));
  EXPECT_THAT(ErrorOf({{"devices", {"1"}}}), HasSubstr("integer"));
  EXPECT_THAT(ErrorOf({{"filter", {{"hardware", "a"}}}}), HasSubstr("list of strings"));
  EXPECT_THAT(ErrorOf({{"filter", {{"colour", {"a"}}}}}), HasSubstr("unknown filter key"));
  EXPECT_THAT(ErrorOf({{"start_at", "tomorrow"}}), HasSubstr("RFC 3339"));
  EXPECT_THAT(ErrorOf({{"maintenance_window", {{"start", "25:00"}, {"end", "01:00"}}}}),
              HasSubstr("HH:MM"));
  EXPECT_THAT(ErrorOf({{"maintenance_window", {{"start", "01:00"}, {"end", "01:00"}}}}),
              HasSubstr("empty"));
  EXPECT_THAT(ErrorOf({{"failure_threshold", {{"percent", -1}}}}), HasSubstr("between"));
  EXPECT_THAT(ErrorOf({{"rate_per_hour", -5}}), HasSubstr("at least 0"));
  EXPECT_THAT(ErrorOf({{"surprise", 1}}), HasSubstr("unknown key 'surprise'"));
  EXPECT_FALSE(RolloutFromJson(json::array()));
}

// sscanf's %d took " 1:00" and "+2:-0" as 01:00 and 02:00
// (fuzz/regressions/rollout-window-signs-and-spaces.json).
TEST(RolloutDefinition, WindowTimesAreDigitsOnly) {
  for (const char* time : {" 1:00", "+2:00", "02:-0", "02: 0", "1:000", "0x:10", "01;00"}) {
    EXPECT_THAT(ErrorOf({{"maintenance_window", {{"start", time}, {"end", "03:00"}}}}),
                HasSubstr("HH:MM"))
        << time;
  }
  EXPECT_EQ(
      Parse({{"maintenance_window", {{"start", "00:00"}, {"end", "23:59"}}}}).window->end_minute,
      23 * 60 + 59);
}

TEST(RolloutRules, SelectsByListOrFilter) {
  const Device device = MakeDevice(7, "board-a", "1.0");
  Selection all;
  EXPECT_TRUE(Selects(all, device));
  Selection list;
  list.device_ids = {3, 7};
  EXPECT_TRUE(Selects(list, device));
  list.device_ids = {3};
  EXPECT_FALSE(Selects(list, device));
  Selection filter;
  filter.hardware = {"board-b", "board-a"};
  filter.versions = {"1.0"};
  filter.identity = {{"mac", "bb"}};
  filter.attributes = {{"region", "eu"}};
  EXPECT_TRUE(Selects(filter, device));
  filter.identity = {{"mac", "cc"}};
  EXPECT_FALSE(Selects(filter, device));
  filter.identity = json::object();
  filter.versions = {"2.0"};
  EXPECT_FALSE(Selects(filter, device));
  filter.versions = {};
  filter.attributes = {{"region", "us"}};
  EXPECT_FALSE(Selects(filter, device));
  filter.attributes = {{"missing", "x"}};
  EXPECT_FALSE(Selects(filter, device));
}

TEST(RolloutRules, StageForRankFollowsCumulativeShares) {
  const std::vector<Stage> stages = {{1}, {10}, {50}, {100}};
  EXPECT_EQ(StageForRank(stages, 0.0), 0);
  EXPECT_EQ(StageForRank(stages, 0.0099), 0);
  EXPECT_EQ(StageForRank(stages, 0.01), 1);
  EXPECT_EQ(StageForRank(stages, 0.3), 2);
  EXPECT_EQ(StageForRank(stages, 0.9999), 3);
  // Evenly spread ranks give exact shares: 25% of 20 devices is 5.
  const std::vector<Stage> two = {{25}, {100}};
  int first = 0;
  for (int i = 0; i < 20; ++i) first += StageForRank(two, (i + 0.5) / 20) == 0;
  EXPECT_EQ(first, 5);
}

TEST(RolloutRules, MaintenanceWindow) {
  auto at = [](int hour, int minute) {
    return *ParseTime("2026-11-22T" + std::string(hour < 10 ? "0" : "") + std::to_string(hour) +
                      ":" + (minute < 10 ? "0" : "") + std::to_string(minute) + ":00Z");
  };
  const MaintenanceWindow night{22 * 60, 5 * 60};  // crosses midnight
  EXPECT_TRUE(InWindow(night, at(23, 0)));
  EXPECT_TRUE(InWindow(night, at(4, 59)));
  EXPECT_FALSE(InWindow(night, at(5, 0)));
  EXPECT_FALSE(InWindow(night, at(12, 0)));
  const MaintenanceWindow day{9 * 60, 17 * 60};
  EXPECT_TRUE(InWindow(day, at(9, 0)));
  EXPECT_FALSE(InWindow(day, at(17, 0)));
}

TEST(RolloutRules, FailureThreshold) {
  // pending, downloading, installing, rebooting, updated, failed
  const auto stats = Stats({{10, 0, 0, 0, 17, 3}});  // 20 attempted, 3 failed (15%)
  FailureThreshold none;
  EXPECT_FALSE(ThresholdBreach(none, stats));
  FailureThreshold percent;
  percent.percent = 10;
  auto breach = ThresholdBreach(percent, stats);
  ASSERT_TRUE(breach);
  EXPECT_THAT(*breach, HasSubstr("3 of 20 attempted devices failed"));
  percent.percent = 15;
  EXPECT_FALSE(ThresholdBreach(percent, stats));  // more than 15%, not equal
  percent.percent = 10;
  percent.min_attempted = 21;
  EXPECT_FALSE(ThresholdBreach(percent, stats));  // too few attempts to judge
  FailureThreshold count;
  count.count = 2;
  EXPECT_THAT(*ThresholdBreach(count, stats), HasSubstr("3 devices failed"));
  count.count = 3;
  EXPECT_FALSE(ThresholdBreach(count, stats));
}

TEST(RolloutRules, StageSuccessAndCompletion) {
  Rollout rollout;
  rollout.stages = {{25, 80}, {100, 100}};
  // stage 0: 4 updated of 5 (80%); stage 1: all pending.
  auto stats = Stats({{0, 0, 0, 0, 4, 1}, {15, 0, 0, 0, 0, 0}});
  EXPECT_TRUE(StageSucceeded(rollout, stats));
  rollout.stages[0].success_percent = 90;
  EXPECT_FALSE(StageSucceeded(rollout, stats));
  EXPECT_FALSE(RolloutComplete(rollout, stats));
  rollout.current_stage = 1;
  EXPECT_FALSE(RolloutComplete(rollout, stats));
  stats = Stats({{0, 0, 0, 0, 4, 1}, {0, 0, 0, 0, 14, 1}});
  EXPECT_TRUE(RolloutComplete(rollout, stats));
  // With no device at all, a filter rollout waits for newcomers; an explicit list is done.
  const RolloutStats empty = Stats({{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}});
  EXPECT_FALSE(RolloutComplete(rollout, empty));
  Rollout listed = rollout;
  listed.selection.device_ids = {42};
  EXPECT_TRUE(RolloutComplete(listed, empty));
  // Nobody in the stages so far: a filter rollout holds until a device has proved the package
  // (it was created before its devices appeared); a device list with nobody left goes on.
  rollout.current_stage = 0;
  EXPECT_FALSE(StageSucceeded(rollout, Stats({{0, 0, 0, 0, 0, 0}, {3, 0, 0, 0, 0, 0}})));
  EXPECT_FALSE(StageSucceeded(rollout, empty));
  EXPECT_TRUE(StageSucceeded(listed, empty));
}

TEST(RolloutRules, CountsThroughAStage) {
  // States in order: pending, downloading, installing, rebooting, updated, failed.
  const auto stats = Stats({{1, 0, 0, 0, 4, 1}, {2, 1, 0, 0, 3, 0}, {7, 0, 0, 0, 0, 0}});
  EXPECT_EQ(stats.TotalThrough(0), 6);
  EXPECT_EQ(stats.TotalThrough(1), 12);
  EXPECT_EQ(stats.TotalThrough(2), 19);
  EXPECT_EQ(stats.TotalThrough(5), 19);  // stages the counts do not reach hold nobody
  EXPECT_EQ(stats.TotalThrough(-1), 0);
  EXPECT_EQ(stats.CountThrough(0, DeviceState::kUpdated), 4);
  EXPECT_EQ(stats.CountThrough(1, DeviceState::kUpdated), 7);
  EXPECT_EQ(stats.CountThrough(9, DeviceState::kPending), 10);
  EXPECT_EQ(stats.CountThrough(1, DeviceState::kFailed), 1);
}

TEST(RolloutRules, ReportStatusesMapToStates) {
  EXPECT_EQ(StateForReport("downloading"), DeviceState::kDownloading);
  EXPECT_EQ(StateForReport("downloaded"), DeviceState::kDownloading);
  EXPECT_EQ(StateForReport("installed"), DeviceState::kInstalling);
  EXPECT_EQ(StateForReport("rebooting"), DeviceState::kRebooting);
  EXPECT_EQ(StateForReport("error"), DeviceState::kFailed);
  EXPECT_FALSE(StateForReport("dancing"));
  for (int s = 0; s < kDeviceStateCount; ++s) {
    const auto state = static_cast<DeviceState>(s);
    EXPECT_EQ(ParseDeviceState(DeviceStateName(state)), state);
  }
}

// Why a rollout waits: one text per cause, derived from the rollout and its statistics alone.
TEST(RolloutRules, HoldReasonSaysWhyARolloutWaits) {
  const auto now = *ParseTime("2026-12-07T10:30:00Z");
  const HoldFacts facts{.now = now, .started_last_hour = 0};
  Rollout rollout = Parse({{"stages", {{{"percent", 50}, {"success_percent", 80}}, 100}}});
  const auto waiting = Stats({{3, 0, 0, 0, 1, 0}, {4, 0, 0, 0, 0, 0}});

  rollout.state = RolloutState::kScheduled;
  rollout.start_at = "2026-12-08T02:00:00Z";
  EXPECT_EQ(HoldReason(rollout, waiting, facts), "scheduled start at 2026-12-08T02:00:00Z");
  rollout.reason = "the key that signed the package was deleted";
  EXPECT_EQ(HoldReason(rollout, waiting, facts),
            "not started: the key that signed the package was deleted");

  rollout.state = RolloutState::kPaused;
  rollout.reason = "paused by alice at 2026-12-07T10:00:00Z";
  EXPECT_EQ(HoldReason(rollout, waiting, facts), "paused: paused by alice at 2026-12-07T10:00:00Z");
  rollout.reason = "failure threshold: 3 devices failed, more than the threshold of 2";
  EXPECT_THAT(*HoldReason(rollout, waiting, facts), HasSubstr("paused: failure threshold: 3"));

  rollout.state = RolloutState::kRunning;
  rollout.reason.clear();
  EXPECT_EQ(HoldReason(rollout, waiting, facts),
            "stage 1 of 2: success share not reached (1 of 4 devices updated, 4 needed for 80%)");
  EXPECT_THAT(*HoldReason(rollout, Stats({{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}}), facts),
              HasSubstr("waiting for devices"));

  // The window and the rate limit hold back devices not offered the package yet.
  rollout.window = MaintenanceWindow{.start_minute = 2 * 60, .end_minute = 5 * 60};
  EXPECT_EQ(HoldReason(rollout, waiting, facts),
            "maintenance window opens at 2026-12-08T02:00:00Z");
  rollout.window.reset();
  rollout.rate_per_hour = 5;
  EXPECT_EQ(HoldReason(rollout, waiting, {.now = now, .started_last_hour = 5}),
            "rate limit: 5 devices started in the last hour, at most 5 per hour");
  EXPECT_NE(HoldReason(rollout, waiting, {.now = now, .started_last_hour = 4}),
            HoldReason(rollout, waiting, {.now = now, .started_last_hour = 5}));

  // A stage that succeeded soaks, or waits for "advance".
  const auto succeeded = Stats({{0, 0, 0, 0, 4, 0}, {4, 0, 0, 0, 0, 0}});
  rollout.stages[0].soak_seconds = 3600;
  rollout.stage_succeeded_at = "2026-12-07T10:00:00Z";
  EXPECT_EQ(HoldReason(rollout, succeeded, facts), "stage 1 of 2 soaks until 2026-12-07T11:00:00Z");
  EXPECT_EQ(HoldReason(rollout, succeeded, {.now = now + std::chrono::hours(1)}), std::nullopt);
  rollout.stages[0].manual = true;
  EXPECT_EQ(HoldReason(rollout, succeeded, facts),
            "stage 1 of 2 succeeded and waits for an \"advance\"");

  // The last stage, and archived rollouts, wait for nothing.
  rollout.current_stage = 1;
  EXPECT_EQ(HoldReason(rollout, waiting, facts), std::nullopt);
  rollout.state = RolloutState::kFinished;
  EXPECT_EQ(HoldReason(rollout, waiting, facts), std::nullopt);
}

TEST(RolloutRules, NextWindowOpeningIsTodayOrTomorrow) {
  const MaintenanceWindow window{.start_minute = 22 * 60, .end_minute = 2 * 60};
  EXPECT_EQ(FormatTime(NextWindowOpening(window, *ParseTime("2026-12-07T10:00:00Z"))),
            "2026-12-07T22:00:00Z");
  EXPECT_EQ(FormatTime(NextWindowOpening(window, *ParseTime("2026-12-07T23:00:00Z"))),
            "2026-12-08T22:00:00Z");
}

}  // namespace
}  // namespace uh::server
