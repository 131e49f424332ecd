// The daemon against a server that misbehaves or offers bad packages: each case ends in a clear
// error (reported to the server when the protocol has a report for it), nothing written to the
// device's targets, the active slot untouched, and the daemon still running.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_server.hpp"
#include "package/signature.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using testing::Device;
using testing::FakeServer;
using testing::kRootfs;
using testing::kTarball;
using testing::ObjectBytes;
using testing::WaitFor;

std::string Metadata() { return testing::TestMetadata(); }

// The test package's metadata with one change, as canonical JSON.
std::string MetadataWith(const std::function<void(json&)>& change) {
  return testing::TestMetadataWith(change);
}

class DaemonBadInputTest : public ::testing::Test {
 protected:
  // Runs the device until an error report arrives (or, with `reports` false, until `probes`
  // probes were made); checks the device was left alone and the daemon kept running.
  json RunToError() {
    json report = RunToErrorReport();
    ExpectUntouched();
    return report;
  }

  // Runs the device until an error report arrives; the daemon must not have gone on to reboot.
  json RunToErrorReport() {
    StateId last = StateId::kEntryPoint;
    EXPECT_TRUE(device_.RunUntil([&] { return !ErrorReport().empty(); }, &last));
    // Still going: back to waiting for the next probe (or between states on the way there).
    EXPECT_NE(last, StateId::kReboot);
    return ErrorReport();
  }

  // The first error report; empty when none came.
  json ErrorReport() {
    for (const auto& report : server_.Reports()) {
      if (report["status"] == "error") return report;
    }
    return json::object();
  }

  void ExpectUntouched() {
    EXPECT_EQ(uh::testing::ReadFile(device_.config.update.target_root / "dev" / "mmcblk0p2"),
              std::string(1 << 20, '\0'));
    ExpectNotActivated();
  }

  // Whatever the inactive slot's partition holds, the rest of the device is untouched and the
  // slot was not switched to.
  void ExpectNotActivated() {
    EXPECT_TRUE(std::filesystem::is_empty(device_.config.update.target_root / "dev" / "mmcblk0p3"));
    EXPECT_EQ(device_.Reboots(), 0);
    const auto env = device_.Path("abenv");
    if (std::filesystem::exists(env)) {
      EXPECT_THAT(device_.Env(), ::testing::Not(HasSubstr("updatehub_active=1")));
    }
  }

  FakeServer server_;
  Device device_{server_.Url()};
};

TEST_F(DaemonBadInputTest, GarbageAnd500AnswersAreRetriedWithoutInstallingAnything) {
  for (const auto& [status, body] : std::vector<std::pair<int, std::string>>{
           {200, "this is not json"}, {500, "internal error"}, {200, "{\"product\": 1}"}}) {
    server_.AnswerProbes(status, body);
    // Each kind starts without the backoff the previous one built up.
    std::filesystem::remove(device_.config.storage.runtime_settings);
    const int before = server_.Probes();
    StateId last = StateId::kEntryPoint;
    ASSERT_TRUE(device_.RunUntil([&] { return server_.Probes() >= before + 3; }, &last)) << body;
    ExpectUntouched();
    EXPECT_TRUE(server_.Reports().empty());
    EXPECT_TRUE(IsIdle(last)) << NameOf(last);
  }
  // The failures were counted for the backoff, and the settings file stays valid.
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_FALSE(settings->warning);
  EXPECT_GE(settings->settings.polling.retries, 1u);
}

TEST_F(DaemonBadInputTest, MetadataWhoseSignatureDoesNotVerifyIsRefused) {
  auto key = package::PrivateKey::Load(uh::testing::TestPackagesDir() / "key.pem");
  ASSERT_TRUE(key);
  server_.Offer(Metadata(), *key->SignBase64("something else"));
  json report = RunToError();
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("signature"));
}

TEST_F(DaemonBadInputTest, UnsignedMetadataIsRefusedWhenTheDeviceHasAKey) {
  server_.Offer(Metadata(), "");
  json report = RunToError();
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("unsigned"));
}

TEST_F(DaemonBadInputTest, MetadataForAnotherProductOrHardwareIsRefused) {
  server_.Offer(MetadataWith([](json& m) { m["product"] = std::string(64, 'e'); }));
  EXPECT_THAT(RunToError()["error-message"].get<std::string>(), HasSubstr("product"));
}

TEST_F(DaemonBadInputTest, MetadataForOtherHardwareIsRefused) {
  server_.Offer(MetadataWith([](json& m) { m["supported-hardware"] = {"board-z"}; }));
  EXPECT_THAT(RunToError()["error-message"].get<std::string>(), HasSubstr("hardware"));
}

// Downloaded, a raw image bound for the inactive slot is written there as it arrives (besides the
// download directory), and only found wrong at its end: the update fails there, nothing else is
// installed and the slot is never activated.
TEST_F(DaemonBadInputTest, AnObjectWhoseHashDoesNotMatchIsNeverActivated) {
  server_.Offer(Metadata());
  std::string wrong = ObjectBytes(kRootfs);
  wrong[1000] ^= 1;
  server_.SetObject(kRootfs, wrong);
  json report = RunToErrorReport();
  ExpectNotActivated();
  EXPECT_EQ(report["previous-state"], "downloading");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("hashes to"));
  EXPECT_FALSE(std::filesystem::exists(device_.config.update.download_dir / kRootfs));
}

// Piped into its installer (update.stream_objects), an object is only found wrong at its end,
// once the installer has written the inactive slot: the update fails there and the slot is
// never activated. (The tarball's gzip trailer is changed: it still extracts, its hash is wrong.)
TEST_F(DaemonBadInputTest, AnObjectPipedIntoItsInstallerWithAWrongHashIsNeverActivated) {
  device_.config.update.stream_objects = true;
  server_.Offer(Metadata());
  std::string wrong = ObjectBytes(kTarball);
  wrong[wrong.size() - 6] ^= 1;
  server_.SetObject(kTarball, wrong);
  const json report = RunToErrorReport();
  EXPECT_EQ(report["previous-state"], "downloading");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("data.tar.gz"));
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("hashes to"));
  EXPECT_EQ(device_.Reboots(), 0);
  EXPECT_FALSE(std::filesystem::exists(device_.Path("abenv")));
  EXPECT_FALSE(std::filesystem::exists(device_.config.update.download_dir / kTarball));
  // No update is left to resume: the next offer starts over.
  EXPECT_FALSE(std::filesystem::exists(device_.config.storage.state_file));
}

// Through updatehub-worker processes (as the updatehub program runs): the same refusals, with
// the worker's errors in the reports, and nothing installed.
TEST_F(DaemonBadInputTest, TheWorkerRefusesABadSignatureAndABadObjectLikeTheDaemon) {
  device_.worker = true;
  auto key = package::PrivateKey::Load(uh::testing::TestPackagesDir() / "key.pem");
  ASSERT_TRUE(key);
  server_.Offer(Metadata(), *key->SignBase64("something else"));
  json report = RunToError();
  EXPECT_EQ(report["previous-state"], "validation");
  EXPECT_THAT(report["error-message"].get<std::string>(),
              HasSubstr("the signature does not verify with key.pub"));

  server_.ClearReports();
  std::filesystem::remove(device_.config.storage.runtime_settings);  // probe at once
  server_.Offer(Metadata());
  std::string wrong = ObjectBytes(kRootfs);
  wrong[1000] ^= 1;
  server_.SetObject(kRootfs, wrong);
  report = RunToErrorReport();
  ExpectNotActivated();
  EXPECT_EQ(report["previous-state"], "downloading");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("hashes to"));
  EXPECT_FALSE(std::filesystem::exists(device_.config.update.download_dir / kRootfs));
}

TEST_F(DaemonBadInputTest, DownloadsTheServerCannotServeNowAreResumedAfterAWait) {
  server_.Offer(Metadata());
  server_.FailDownloads(kRootfs, 503, 3);
  ASSERT_TRUE(device_.RunUntil([&] { return device_.Reboots() >= 1; }));
  EXPECT_EQ(server_.Downloads(kRootfs), 4);
  for (const auto& report : server_.Reports()) EXPECT_NE(report["status"], "error") << report;
  EXPECT_THAT(device_.Env(), HasSubstr("updatehub_active=1"));
}

TEST_F(DaemonBadInputTest, DownloadsFailOnceTheRetriesAreSpentOrWhenTheServerRefuses) {
  server_.Offer(Metadata());
  server_.FailDownloads(kRootfs, 502, 1000);
  json report = RunToError();
  EXPECT_EQ(report["previous-state"], "downloading");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("502"));
  EXPECT_EQ(server_.Downloads(kRootfs), 1 + DaemonOptions{}.download_retries);
}

// A download past its deadline (network.download_min_rate, download_time_allowance) is a
// timeout like any other: retried after the download back-off, resumed, and once the retries
// are spent an error report. Through updatehub-worker processes, so the deadline crosses the
// worker protocol. The first object (data.tar.gz, 212 bytes) at 1000 bytes/s with no allowance
// must be over within 0.212 s; the server answers after 0.4 s.
TEST_F(DaemonBadInputTest, ADownloadPastItsDeadlineIsRetriedAfterAWaitThenFails) {
  device_.worker = true;
  device_.config.network.download_min_rate = 1000;
  device_.config.network.download_time_allowance = 0s;
  server_.DelayDownloads(400ms);
  server_.Offer(Metadata());
  json report = RunToError();
  EXPECT_EQ(report["previous-state"], "downloading");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("minimum rate"));
  // The first object the update fetches, whichever it is, and nothing after it.
  EXPECT_EQ(server_.Downloads(kRootfs) + server_.Downloads(kTarball),
            1 + DaemonOptions{}.download_retries);
}

TEST_F(DaemonBadInputTest, ADownloadTheServerRefusesIsNotRetried) {
  server_.Offer(Metadata());
  server_.FailDownloads(kRootfs, 403, 1000);
  json report = RunToError();
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("403"));
  EXPECT_EQ(server_.Downloads(kRootfs), 1);
}

TEST_F(DaemonBadInputTest, APackageLargerThanTheFreeSpaceIsRefusedBeforeDownloading) {
  server_.Offer(MetadataWith([](json& m) {
    for (auto& set : m["objects"]) set[1]["size"] = 1ULL << 50;
  }));
  json report = RunToError();
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr("free"));
  EXPECT_FALSE(std::filesystem::exists(device_.config.update.download_dir / kRootfs));
}

TEST_F(DaemonBadInputTest, ACorruptRuntimeSettingsFileIsSetAsideAndTheUpdateWorks) {
  std::filesystem::create_directories(device_.config.storage.runtime_settings.parent_path());
  uh::testing::WriteFile(device_.config.storage.runtime_settings, "{\"polling\": {\"last\"");
  server_.Offer(Metadata());
  ASSERT_TRUE(device_.RunUntil([&] { return device_.Reboots() == 1; }));
  EXPECT_TRUE(std::filesystem::exists(device_.config.storage.runtime_settings.string() + ".old"));
  EXPECT_EQ(uh::testing::ReadFile(device_.config.update.target_root / "dev" / "mmcblk0p2"),
            ObjectBytes(kRootfs));
}

TEST_F(DaemonBadInputTest, AMissingMetadataScriptIsRetriedUntilItIsBack) {
  std::filesystem::remove(device_.config.firmware.metadata / "hardware");
  // A second of failing probes: nothing reaches the server, the daemon keeps trying.
  StateId last = StateId::kEntryPoint;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      device_.RunUntil([&] { return std::chrono::steady_clock::now() - start > 1s; }, &last));
  EXPECT_EQ(server_.Probes(), 0);
  EXPECT_TRUE(IsIdle(last)) << NameOf(last);
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_GE(settings->settings.polling.retries, 2u);
  testing::Executable(device_.config.firmware.metadata / "hardware", "echo board-a");
  server_.Offer(Metadata());
  ASSERT_TRUE(device_.RunUntil([&] { return device_.Reboots() == 1; }));
}

}  // namespace
}  // namespace uh::agent
