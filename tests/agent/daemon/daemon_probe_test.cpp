// How often the daemon probes when the server's answers are of no use: a 200 whose body is not
// metadata (a captive portal's HTML page), metadata with a bad field or for another product,
// and an offer of the package already installed. None of them may make the agent probe again at
// once: a fleet doing that takes its own server down. An unusable answer counts as a failed
// probe (Api-Retries grows, the wait doubles up to min(interval, 1 h)); an offer already
// installed waits for the next regular poll.
//
// Time is not slept away: each test waits for the Nth probe and checks the gaps between the
// probes the server saw (the daemon's first retry waits 100 ms, see Device::RunUntil).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/backend/local_backend.hpp"
#include "core/hash.hpp"
#include "fake_server.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::Device;
using testing::FakeServer;
using testing::kRootfs;
using testing::kTarball;
using testing::kUid;
using testing::TestMetadata;
using testing::TestMetadataWith;

using Millis = std::chrono::milliseconds;

// The waits between the probes the server saw.
std::vector<Millis> Gaps(const std::vector<FakeServer::ProbeSeen>& probes) {
  std::vector<Millis> gaps;
  for (std::size_t i = 1; i < probes.size(); ++i) {
    gaps.push_back(std::chrono::duration_cast<Millis>(probes[i].at - probes[i - 1].at));
  }
  return gaps;
}

std::vector<std::string> RetryHeaders(const std::vector<FakeServer::ProbeSeen>& probes) {
  std::vector<std::string> out;
  for (const auto& probe : probes) out.push_back(probe.api_retries);
  return out;
}

class DaemonProbeTest : public ::testing::Test {
 protected:
  DaemonProbeTest() {
    // Short enough for a test, and the cap of the backoff: min(interval, 1 h).
    device_.config.polling.interval = 1s;
  }

  // Runs the daemon until the server has seen `count` probes; returns them.
  std::vector<FakeServer::ProbeSeen> RunUntilProbes(int count) {
    EXPECT_TRUE(device_.RunUntil([&] { return server_.Probes() >= count; }))
        << "only " << server_.Probes() << " probes";
    auto probes = server_.ProbeLog();
    if (probes.size() > static_cast<std::size_t>(count)) probes.resize(count);
    return probes;
  }

  // Each unusable answer counted as a failed probe: the server sees the count grow, and the
  // waits between probes double from the daemon's first retry wait (100 ms, less the 10 %
  // jitter).
  void ExpectBackoff(const std::vector<FakeServer::ProbeSeen>& probes, const std::string& what) {
    ASSERT_EQ(probes.size(), 5u) << what;
    EXPECT_EQ(RetryHeaders(probes), (std::vector<std::string>{"0", "1", "2", "3", "4"})) << what;
    const auto gaps = Gaps(probes);
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      EXPECT_GE(gaps[i], Millis(90 << i)) << what << ": wait " << i + 1;
    }
    auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
    ASSERT_TRUE(settings);
    // The daemon was stopped while it handled the fifth probe: 4 or 5.
    EXPECT_GE(settings->settings.polling.retries, 4u) << what;
  }

  void ExpectNothingInstalled() {
    EXPECT_EQ(server_.Downloads(kRootfs) + server_.Downloads(kTarball), 0);
    EXPECT_EQ(device_.Reboots(), 0);
    EXPECT_FALSE(std::filesystem::exists(device_.Path("abenv")));
  }

  FakeServer server_;
  Device device_{server_.Url()};
};

TEST_F(DaemonProbeTest, AnHtmlPageAnsweredWith200BacksOffLikeAFailedProbe) {
  server_.AnswerProbes(200, "<html><body>Sign in to the hotel Wi-Fi</body></html>", "text/html");
  ExpectBackoff(RunUntilProbes(5), "captive portal");
  ExpectNothingInstalled();
  EXPECT_TRUE(server_.Reports().empty());
}

TEST_F(DaemonProbeTest, MetadataWithABadFieldBacksOffLikeAFailedProbe) {
  server_.Offer(TestMetadataWith([](json& m) { m["objects"][0][0]["size"] = "large"; }));
  ExpectBackoff(RunUntilProbes(5), "bad field");
  ExpectNothingInstalled();
}

// Refused by validation, which reports the error each time: the probes still back off.
TEST_F(DaemonProbeTest, MetadataForAnotherProductBacksOffLikeAFailedProbe) {
  server_.Offer(TestMetadataWith([](json& m) { m["product"] = std::string(64, 'e'); }));
  ExpectBackoff(RunUntilProbes(5), "another product");
  ExpectNothingInstalled();
  const auto statuses = server_.Statuses();
  ASSERT_GE(statuses.size(), 4u);
  for (const auto& status : statuses) EXPECT_EQ(status, "error");
}

// The wait stops doubling at the polling interval (1 s here): without the cap the seventh wait
// would be 6.4 s.
TEST_F(DaemonProbeTest, TheBackoffIsCappedAtThePollingInterval) {
  server_.AnswerProbes(200, "<html>portal</html>", "text/html");
  const auto probes = RunUntilProbes(8);
  ASSERT_EQ(probes.size(), 8u);
  EXPECT_EQ(probes.back().api_retries, "7");
  const auto gaps = Gaps(probes);
  for (std::size_t i = 4; i < gaps.size(); ++i) {
    EXPECT_GE(gaps[i], 900ms) << "wait " << i + 1;
    EXPECT_LT(gaps[i], 3000ms) << "wait " << i + 1;
  }
}

// The server offers the package the device already runs (it has not seen the new version yet,
// or it is misconfigured): not a failure, nothing to do until the next regular poll.
TEST_F(DaemonProbeTest, AnOfferAlreadyInstalledWaitsForTheNextRegularPoll) {
  RuntimeSettings installed;
  installed.update.applied_package_uid = kUid;
  ASSERT_TRUE(SaveRuntimeSettings(device_.config.storage.runtime_settings, installed));
  server_.Offer(TestMetadata());
  const auto probes = RunUntilProbes(3);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(RetryHeaders(probes), (std::vector<std::string>{"0", "0", "0"}));
  // The interval (1 s) less its jitter (10 %), less what probing itself costs in the gap.
  for (const auto gap : Gaps(probes)) EXPECT_GE(gap, 700ms);
  ExpectNothingInstalled();
  EXPECT_TRUE(server_.Reports().empty());
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->settings.polling.retries, 0u);
}

// A state-change-callback that cancels the probe, or fails, on a device due to probe at once
// (its first start): the next probe waits for its time, the callback does not run in a loop.
TEST_F(DaemonProbeTest, AProbeCancelledOrFailedByTheCallbackIsNotRetriedAtOnce) {
  for (const std::string verdict : {"echo cancel", "exit 3"}) {
    const auto calls = device_.Path("probe-calls");
    std::filesystem::remove(calls);
    std::filesystem::remove(device_.config.storage.runtime_settings);
    device_.AddCallback("state-change-callback", "[ \"$1\" = probe ] || exit 0\necho x >> " +
                                                     calls.string() + "\n" + verdict);
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        device_.RunUntil([&] { return std::chrono::steady_clock::now() - started > 1500ms; }));
    const auto lines = uh::testing::ReadFile(calls);
    const auto count = std::count(lines.begin(), lines.end(), '\n');
    // Cancelled: the first call, then one a second (interval 1 s). Failed: backing off from
    // 100 ms (100, 200, 400, 800 ms): five calls at most. In a loop: hundreds.
    EXPECT_GE(count, 1) << verdict;
    EXPECT_LE(count, 6) << verdict;
    EXPECT_EQ(server_.Probes(), 0) << verdict;
  }
}

// network.device_token_file: created with a fresh secret at the first start when missing, sent
// as UH-Device-Token with every probe, and the same secret after a restart.
TEST_F(DaemonProbeTest, TheDeviceTokenIsCreatedAtTheFirstStartAndKeptAcrossRestarts) {
  uh::testing::TempDir dir;
  const auto token_file = dir / "var" / "device-token";
  device_.config.network.device_token_file = token_file;
  const auto first = RunUntilProbes(1);
  ASSERT_TRUE(std::filesystem::exists(token_file));
  const std::string token = uh::testing::ReadFile(token_file).substr(0, 64);
  EXPECT_TRUE(IsLowerHexSha256(token)) << token;
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].device_token, token);

  const auto again = RunUntilProbes(2);  // a restart
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].device_token, token);
  EXPECT_EQ(uh::testing::ReadFile(token_file), token + "\n");
}

// A probe of another server, asked through the local API, carries none of the device's
// secrets: a local program cannot have them sent where it likes.
TEST_F(DaemonProbeTest, AnotherServerAskedForLocallyGetsNoDeviceSecrets) {
  uh::testing::TempDir dir;
  device_.config.network.device_token_file = dir / "device-token";
  device_.config.network.product_token = "product secret";
  FakeServer other;
  ASSERT_TRUE(
      device_.RunUntil([&] { return other.Probes() >= 1 && server_.Probes() >= 1; }, nullptr,
                       [&](Daemon& daemon) {
                         // Once the first probe is over and the daemon waits.
                         EXPECT_TRUE(testing::WaitFor([&] {
                           return server_.Probes() >= 1 && daemon.state() == StateId::kPoll;
                         }));
                         const auto outcome = daemon.RequestProbe(other.Url());
                         EXPECT_EQ(outcome.kind, ProbeOutcome::Kind::kNoUpdate) << outcome.detail;
                       }));
  const auto theirs = other.ProbeLog();
  ASSERT_FALSE(theirs.empty());
  EXPECT_EQ(theirs[0].device_token, "");
  const auto ours = server_.ProbeLog();
  ASSERT_FALSE(ours.empty());
  EXPECT_EQ(ours[0].device_token.size(), 64u) << "the configured server gets it";
}

// A token file that holds something else stops the agent at start, naming the file.
TEST_F(DaemonProbeTest, ABadDeviceTokenFileStopsTheAgentAtStart) {
  uh::testing::TempDir dir;
  const auto token_file = dir / "device-token";
  uh::testing::WriteFile(token_file, "not a token\n");
  device_.config.network.device_token_file = token_file;
  DaemonOptions options;
  options.backend = MakeLocalBackend();
  auto daemon = Daemon::Create(device_.config, std::move(options));
  ASSERT_FALSE(daemon);
  EXPECT_EQ(daemon.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(
      daemon.error().message().find(token_file.string() + ": must hold exactly 64 hex digits"),
      std::string::npos)
      << daemon.error().message();
  EXPECT_EQ(server_.Probes(), 0);
}

}  // namespace
}  // namespace uh::agent
