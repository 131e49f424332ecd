#include "agent/device/runtime_settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::chrono::system_clock::time_point At(const std::string& text) {
  auto time = ParseTime(text);
  EXPECT_TRUE(time) << text;
  return time.value_or(std::chrono::system_clock::time_point{});
}

RuntimeSettings Sample() {
  RuntimeSettings settings;
  settings.polling.last = At("2026-01-02T03:04:05Z");
  settings.polling.retries = 3;
  settings.polling.now = true;
  settings.polling.custom_server_address = "http://10.0.0.1:8080";
  settings.update.upgrade_to_installation = 1;
  settings.update.applied_package_uid = std::string(64, 'a');
  return settings;
}

TEST(RuntimeSettingsTest, MissingFileMeansDefaults) {
  uh::testing::TempDir dir;
  auto loaded = LoadRuntimeSettings(dir / "runtime_settings.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->settings, RuntimeSettings{});
  EXPECT_FALSE(loaded->warning);
  EXPECT_FALSE(loaded->settings.polling.last);
  EXPECT_EQ(loaded->settings.polling.retries, 0u);
}

TEST(RuntimeSettingsTest, SavesUpstreamJsonAndReadsItBack) {
  uh::testing::TempDir dir;
  const auto path = dir / "var" / "lib" / "updatehub" / "runtime_settings.conf";
  ASSERT_TRUE(SaveRuntimeSettings(path, Sample()));

  const auto saved = nlohmann::json::parse(uh::testing::ReadFile(path));
  EXPECT_EQ(saved, nlohmann::json::parse(R"({
    "polling": {"last": "2026-01-02T03:04:05Z", "retries": 3, "now": true,
                "server_address": {"custom": "http://10.0.0.1:8080"}},
    "update": {"upgrade_to_installation": "b",
               "applied_package_uid": ")" +
                                         std::string(64, 'a') + R"("},
    "path": ")" + path.string() + R"(", "persistent": true})"));

  auto loaded = LoadRuntimeSettings(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->settings, Sample());
  EXPECT_FALSE(loaded->warning);
  // Nothing but the file itself is left in the directory (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()), 1);
}

TEST(RuntimeSettingsTest, DefaultsAreWrittenAsUpstreamDoes) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SaveRuntimeSettings(dir / "rs.conf", RuntimeSettings{}));
  EXPECT_EQ(
      nlohmann::json::parse(uh::testing::ReadFile(dir / "rs.conf")), nlohmann::json::parse(R"({
    "polling": {"last": "1970-01-01T00:00:00Z", "retries": 0, "now": false,
                "server_address": "default"},
    "update": {}, "path": ")" + (dir / "rs.conf").string() + R"(", "persistent": true})"));
}

TEST(RuntimeSettingsTest, ReadsWhatUpstreamWrites) {
  auto parsed = ParseRuntimeSettings(R"({"polling":{"last":"2021-06-01T14:38:57.123456789Z",
    "retries":0,"now":false,"server_address":"default"},
    "update":{"upgrade_to_installation":"a"},
    "path":"/var/lib/updatehub/runtime_settings.conf","persistent":true})");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->polling.last, At("2021-06-01T14:38:57Z"));
  EXPECT_EQ(parsed->update.upgrade_to_installation, 0);
  EXPECT_FALSE(parsed->update.applied_package_uid);
  EXPECT_FALSE(parsed->polling.custom_server_address);
}

TEST(RuntimeSettingsTest, ReadsOffsetsOlderCasingAndTheEpochAsNever) {
  auto offset = ParseRuntimeSettings(
      R"({"polling":{"last":"2021-06-01T14:38:57-03:00","retries":1,"now":true,
          "server_address":{"Custom":"https://x"},"extra_interval":null},
          "update":{"upgrade_to_installation":"B"}})");
  ASSERT_TRUE(offset) << offset.error().message();
  EXPECT_EQ(offset->polling.last, At("2021-06-01T17:38:57Z"));
  EXPECT_EQ(offset->polling.custom_server_address, "https://x");
  EXPECT_EQ(offset->update.upgrade_to_installation, 1);

  auto epoch = ParseRuntimeSettings(R"({"polling":{"last":"1970-01-01T00:00:00Z"}})");
  ASSERT_TRUE(epoch) << epoch.error().message();
  EXPECT_FALSE(epoch->polling.last);
}

// Found by fuzz/runtime_settings_fuzz (fuzz/corpus/runtime_settings/go-zero-time.json): the
// v1 agent's "never" (year 1), like any time outside the years 1678 to 2262, overflowed the
// conversion to a time_point, which is undefined behaviour (UBSan reports it).
TEST(RuntimeSettingsTest, ReadsYearOneAsNeverAndRefusesTimesPastTheClock) {
  for (const std::string text : {R"({"polling":{"last":"0001-01-01T00:00:00Z"}})",
                                 "[Polling]\nLastPoll=0001-01-01T00:00:00Z\n"}) {
    auto never = ParseRuntimeSettings(text);
    ASSERT_TRUE(never) << never.error().message();
    EXPECT_FALSE(never->polling.last) << text;
  }
  auto latest = ParseRuntimeSettings(R"({"polling":{"last":"2262-01-01T00:00:00Z"}})");
  ASSERT_TRUE(latest) << latest.error().message();
  EXPECT_EQ(latest->polling.last, At("2262-01-01T00:00:00Z"));
  auto too_late = ParseRuntimeSettings(R"({"polling":{"last":"9999-12-31T23:59:59Z"}})");
  ASSERT_FALSE(too_late);
  EXPECT_EQ(too_late.error().code(), Errc::kMalformed);
  EXPECT_THAT(too_late.error().message(), HasSubstr("too far in the future"));
}

// Caught by the same fuzzer's check that accepted times are RFC 3339 (reproducer:
// fuzz/corpus/runtime_settings/last-signed-fields.json): sscanf's %d also takes a sign or a
// space, so "2021-06-01T-1:-1:-1Z" was read as a time.
TEST(RuntimeSettingsTest, RefusesSignsAndSpacesWhereTimesHaveDigits) {
  for (const std::string time :
       {"2021-06-01T-1:-1:-1Z", "2021-06-01T 1:02:03Z", "+021-06-01T01:02:03Z",
        "2021-06-01T01:02:03+-1:-1", "2021-06-01T01:02:03- 1:00"}) {
    auto parsed = ParseRuntimeSettings(R"({"polling":{"last":")" + time + R"("}})");
    EXPECT_FALSE(parsed) << time;
    auto legacy = ParseRuntimeSettings("[Polling]\nLastPoll=" + time + "\n");
    EXPECT_FALSE(legacy) << time;
  }
}

TEST(RuntimeSettingsTest, ReadsTheV1AgentsIniAndSaysItWillBeRewritten) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "rs.conf", R"(
[Polling]
LastPoll=2021-06-01T14:38:57-03:00
FirstPoll=2021-05-01T13:33:33-03:00
ExtraInterval=0
Retries=2
ProbeASAP=true

[Update]
UpgradeToInstallation=1
)");
  auto loaded = LoadRuntimeSettings(dir / "rs.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->settings.polling.last, At("2021-06-01T17:38:57Z"));
  EXPECT_EQ(loaded->settings.polling.retries, 2u);
  EXPECT_TRUE(loaded->settings.polling.now);
  EXPECT_EQ(loaded->settings.update.upgrade_to_installation, 1);
  ASSERT_TRUE(loaded->warning);
  EXPECT_THAT(*loaded->warning, HasSubstr("v1 agent's format"));
  EXPECT_TRUE(fs::exists(dir / "rs.conf"));
}

// A corrupt file is moved to <path>.old, as it was, and the defaults are used.
class CorruptRuntimeSettingsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorruptRuntimeSettingsTest, IsMovedAsideAndDefaultsAreUsed) {
  uh::testing::TempDir dir;
  const auto path = dir / "runtime_settings.conf";
  uh::testing::WriteFile(path, GetParam());
  auto loaded = LoadRuntimeSettings(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->settings, RuntimeSettings{});
  ASSERT_TRUE(loaded->warning);
  EXPECT_THAT(*loaded->warning, HasSubstr("are corrupt"));
  EXPECT_THAT(*loaded->warning, HasSubstr("moved to " + path.string() + ".old"));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(uh::testing::ReadFile(dir / "runtime_settings.conf.old"), GetParam());

  // The next save writes a good file again.
  ASSERT_TRUE(SaveRuntimeSettings(path, Sample()));
  auto again = LoadRuntimeSettings(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->settings, Sample());
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, CorruptRuntimeSettingsTest,
    ::testing::Values("foo", "", std::string("\0\x01\xff garbage", 11),
                      R"({"polling":{"last":"2021-06-)", R"({"polling":{"retries":"many"}})",
                      R"({"polling":{"retries":-1}})", R"({"polling":{"now":1}})",
                      R"({"polling":{"last":5}})", R"({"polling":{"last":"yesterday"}})",
                      R"({"polling":{"server_address":"custom"}})", R"({"polling":[]})",
                      R"({"update":{"upgrade_to_installation":"c"}})",
                      R"({"update":{"applied_package_uid":7}})", "[]",
                      R"({"polling":{},"polling":{}})", "[Polling]\nRetries=lots\n",
                      "[Update]\nUpgradeToInstallation=2\n", std::string(100 * 1024, ' ') + "{}"));

}  // namespace
}  // namespace uh::agent
