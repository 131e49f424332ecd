// Summary counts, the goal rule and latency percentiles.

#include "sim/summary.hpp"

#include <gtest/gtest.h>

namespace uh::sim {
namespace {

using std::chrono::microseconds;

DeviceState State(std::uint16_t version, bool failed, PlannedFailure planned,
                  bool announced = true) {
  DeviceState device;
  device.version = version;
  device.failed = failed;
  device.planned = planned;
  device.announced = announced;
  return device;
}

TEST(SummaryTest, EveryDeviceIsCountedOnce) {
  std::vector<DeviceState> devices;
  devices.push_back(State(1, false, PlannedFailure::kNone));         // updated
  devices.push_back(State(1, false, PlannedFailure::kNone));         // updated
  devices.push_back(State(0, true, PlannedFailure::kInstall));       // failed as planned
  devices.push_back(State(0, true, PlannedFailure::kNone));          // failed unexpectedly
  devices.push_back(State(0, false, PlannedFailure::kValidation));   // never tried
  devices.push_back(State(0, false, PlannedFailure::kNone));         // unchanged
  devices.push_back(State(1, false, PlannedFailure::kNone, false));  // rebooted, not told yet
  devices.push_back(State(0, false, PlannedFailure::kNone));         // downloading
  devices.back().offer = 0;
  Summary summary;
  summary.goal_version = "2.0";
  CountDevices(devices, 0, 1, summary);
  EXPECT_EQ(summary.devices, 8u);
  EXPECT_EQ(summary.updated, 2u);
  EXPECT_EQ(summary.updating, 2u);
  EXPECT_EQ(summary.failed, 2u);
  EXPECT_EQ(summary.failed_planned, 1u);
  EXPECT_EQ(summary.planned_failures, 2u);
  EXPECT_EQ(summary.unchanged, 2u);
  EXPECT_EQ(summary.at_goal, 2u) << "the server does not know the third one yet";
  EXPECT_FALSE(summary.GoalMet());

  devices.erase(devices.begin() + 3, devices.end());
  CountDevices(devices, 0, 1, summary);
  EXPECT_TRUE(summary.GoalMet()) << "only planned failures, nobody left behind";
  summary.goal_version.reset();
  EXPECT_FALSE(summary.GoalMet()) << "no goal, nothing met";

  const auto json = SummaryJson(summary);
  EXPECT_EQ(json["updated"], 2);
  EXPECT_EQ(json["failed"], 1);
  EXPECT_EQ(json["updating"], 0);
  EXPECT_FALSE(json.contains("goal"));
  EXPECT_NE(FormatSummary(summary).find("updated 2, failed 1"), std::string::npos);
}

TEST(SummaryTest, ProbesPerSecondAndJson) {
  Summary summary;
  summary.probes = 500;
  summary.elapsed_seconds = 2.0;
  summary.goal_version = "2.0";
  EXPECT_DOUBLE_EQ(summary.ProbesPerSecond(), 250.0);
  const auto json = SummaryJson(summary);
  EXPECT_EQ(json["probes_per_second"], 250.0);
  EXPECT_EQ(json["goal"]["version"], "2.0");
  EXPECT_TRUE(json["latency"].contains("probe"));
}

TEST(LatencyHistogramTest, PercentilesWithinBucketResolution) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.Percentile(0.5), microseconds(0));
  for (int i = 1; i <= 1000; ++i) histogram.Record(microseconds(i * 100));  // 0.1 to 100 ms
  EXPECT_EQ(histogram.count(), 1000u);
  const auto p50 = histogram.Percentile(0.50).count();
  const auto p99 = histogram.Percentile(0.99).count();
  EXPECT_NEAR(static_cast<double>(p50), 50'000.0, 50'000.0 * 0.07);
  EXPECT_NEAR(static_cast<double>(p99), 99'000.0, 99'000.0 * 0.07);
  EXPECT_LE(p50, p99);

  LatencyHistogram small;
  small.Record(microseconds(3));
  small.Record(microseconds(-5));  // clock oddities count as 0
  EXPECT_EQ(small.Percentile(1.0), microseconds(3));
  small.Merge(histogram);
  EXPECT_EQ(small.count(), 1002u);
  LatencyHistogram huge;
  huge.Record(microseconds(std::int64_t{1} << 50));
  EXPECT_GT(huge.Percentile(0.5).count(), 0);
}

}  // namespace
}  // namespace uh::sim
