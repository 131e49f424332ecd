// The agent daemon against a real updatehub-server on port 0: probe, download (resumed after
// an interruption), install into slot B of a stand-in device, slot switch, reboot, validation
// and `updated`; and a failing validate-callback that rolls back to slot A and reports why.
// The device is a directory: its "disks" are files under target_root, its bootloader env a
// file driven by the shipped dist/ab/file scripts.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <thread>

#include "agent/device/firmware_metadata.hpp"
#include "server/http/http.hpp"
#include "simulated_device.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;
using server::testing::ServerFixture;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

using testing::Device;
using testing::kRootfs;
using testing::kUid;
using testing::ObjectBytes;

// The daemon's log lines while it lives (the default logger's, as the daemon logs there).
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  [[nodiscard]] std::string Text() const {
    std::string text;
    for (const auto& line : sink_->last_formatted()) text += line;
    return text;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
  std::shared_ptr<spdlog::logger> previous_;
};

// The download directory cannot hold a copy of the test package's objects: their paths
// there are directories. An update that needs such a copy fails.
void BlockObjectCopies(const Device& device) {
  std::filesystem::create_directories(device.config.update.download_dir / kRootfs);
  std::filesystem::create_directories(device.config.update.download_dir / testing::kTarball);
}

// Slot B holds the test package: its root file system and the tarball's files.
void ExpectSlotBInstalled(const Device& device) {
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            ObjectBytes(kRootfs));
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p3" / "data" /
                                  "etc" / "motd"),
            std::string(uh::testing::kTestMotd));
}

class DaemonUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
    auto rollout = server_.Api(
        "POST",
        std::string("/api/v1/products/") + server::testing::kConformanceProduct + "/rollouts",
        {{"package", kUid}});
    ASSERT_EQ(rollout.status, 201) << rollout.body;
    rollout_id_ = json::parse(rollout.body)["id"];
  }

  json Rollout() {
    return json::parse(server_.Api("GET", "/api/v1/rollouts/" + std::to_string(rollout_id_)).body);
  }
  std::int64_t Count(const char* state) {
    return Rollout()["statistics"]["states"][state]["count"].get<std::int64_t>();
  }
  std::vector<std::string> Statuses() {
    auto reports = json::parse(server_.Api("GET", "/api/v1/reports?limit=100").body)["reports"];
    std::vector<std::string> out;
    for (auto it = reports.rbegin(); it != reports.rend(); ++it) out.push_back((*it)["status"]);
    return out;
  }

  // Object bytes the server has sent to devices, by its download counter.
  std::uint64_t BytesServed() {
    const std::string metrics = uh::server::http::testing::Fetch(server_.Url("/metrics")).body;
    constexpr std::string_view kCounter = "\nupdatehub_download_bytes_total ";
    const auto at = metrics.find(kCounter);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no download counter in the metrics:\n" << metrics;
      return 0;
    }
    return std::stoull(metrics.substr(at + kCounter.size()));
  }

  // What the server knows of an agent stopped while downloading the update: it probed, was
  // offered the update and reported it downloading.
  void OfferTheUpdate(const Device& device) {
    auto firmware = LoadFirmwareMetadata(device.config.firmware.metadata);
    ASSERT_TRUE(firmware) << firmware.error().message();
    const auto offer = server_.Probe(firmware->ToProbeJson());
    ASSERT_EQ(offer.status, 200) << offer.body;
    ASSERT_EQ(offer.body,
              uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json"));
    const auto report = server_.Report(firmware->ToProbeJson(), "downloading", kUid);
    ASSERT_EQ(report.status, 200) << report.body;
  }

  // What an agent stopped in `phase` of the test package's update leaves behind. Without a
  // plan, as an agent from before delivery plans saved it: the daemon derives the plan from the
  // config, as that agent decided on the fly.
  static void SaveStoppedUpdate(const Device& device, UpdatePhase phase,
                                std::vector<std::string> piped = {},
                                std::optional<DeliveryPlan> plan = std::nullopt) {
    auto reader = package::PackageReader::Open(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_TRUE(reader);
    UpdateState state;
    state.phase = phase;
    state.package_uid = reader->uid();
    state.metadata = reader->metadata_bytes();
    state.signature = reader->signature();
    state.installed_while_downloading = std::move(piped);
    state.plan = std::move(plan);
    ASSERT_TRUE(SaveUpdateState(device.config.storage.state_file, state));
  }

  // The update offered, and in its install phase when the agent stopped: the tarball and
  // `objects` (sha256 -> bytes) in the download directory. The rollout is paused, so that the
  // agent's probe after the failure is offered nothing.
  void StopInInstallPhase(const Device& device, const std::map<std::string, std::string>& objects) {
    OfferTheUpdate(device);
    if (HasFatalFailure()) return;
    std::filesystem::create_directories(device.config.update.download_dir);
    uh::testing::WriteFile(device.config.update.download_dir / testing::kTarball,
                           ObjectBytes(testing::kTarball));
    for (const auto& [sha256, bytes] : objects) {
      uh::testing::WriteFile(device.config.update.download_dir / sha256, bytes);
    }
    SaveStoppedUpdate(device, UpdatePhase::kInstalling);
    if (HasFatalFailure()) return;
    ASSERT_EQ(
        server_.Api("POST", "/api/v1/rollouts/" + std::to_string(rollout_id_) + "/pause").status,
        200);
  }

  // Runs the device until it reports an error, which it must do without rebooting; that report.
  json RunUntilErrorReport(Device& device) {
    EXPECT_TRUE(device.RunUntil([&] {
      const auto statuses = Statuses();
      return std::ranges::find(statuses, "error") != statuses.end();
    })) << ::testing::PrintToString(Statuses());
    EXPECT_EQ(device.Reboots(), 0);
    auto reports = json::parse(server_.Api("GET", "/api/v1/reports?limit=10").body)["reports"];
    if (reports.empty()) {
      ADD_FAILURE() << "no report";
      return json::object();
    }
    EXPECT_EQ(reports[0]["status"], "error");
    return reports[0];
  }

  // An agent stopped in the install phase of a download_and_target root file system, restarted:
  // the slot holds it (the download file damaged) or the download file does (the slot damaged).
  // Runs until the reboot, checks that slot B holds the object, and returns the agent's log.
  std::string RestartInstallWith(bool slot_holds_it) {
    CapturedLog log;
    const std::string rootfs = ObjectBytes(kRootfs);
    std::string damaged = rootfs;
    damaged[1000] = static_cast<char>(damaged[1000] ^ 0x01);
    Device device(server_.Url(""));
    const auto slot = device.config.update.target_root / "dev" / "mmcblk0p2";
    uh::testing::WriteFile(slot, slot_holds_it ? rootfs : damaged);
    StopInInstallPhase(device, {{kRootfs, slot_holds_it ? damaged : rootfs}});
    if (HasFatalFailure()) return "";
    EXPECT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
        << ::testing::PrintToString(Statuses());
    EXPECT_EQ(uh::testing::ReadFile(slot), rootfs);
    return log.Text();
  }

  // The plan the update of the test package was given at validation, read back from the state
  // that the agent saved before rebooting.
  static std::string SavedPlan(const Device& device) {
    auto loaded = LoadUpdateState(device.config.storage.state_file,
                                  [](std::string_view) { return std::optional<std::string>(); });
    if (!loaded || !loaded->state || !loaded->state->plan) return "no plan";
    std::string out;
    for (const auto& entry : loaded->state->plan->entries()) {
      out += (entry.sha256 == kRootfs             ? "rootfs"
              : entry.sha256 == testing::kTarball ? "tarball"
                                                  : entry.sha256) +
             "=" + std::string(DeliveryName(entry.delivery)) + " ";
    }
    return out;
  }

  ServerFixture server_;
  std::int64_t rollout_id_ = 0;
};

TEST_F(DaemonUpdateTest, FullUpdateResumesItsDownloadInstallsIntoSlotBAndIsValidated) {
  Device device(server_.Url(""));
  // An earlier run was offered the update and cut off 300 KiB into the root file system, the
  // tarball already whole: the saved state of the update and those bytes in the download
  // directory are what it left.
  OfferTheUpdate(device);
  if (HasFatalFailure()) return;
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  ASSERT_GT(rootfs.size(), kHave);
  std::filesystem::create_directories(device.config.update.download_dir);
  uh::testing::WriteFile(device.config.update.download_dir / testing::kTarball,
                         ObjectBytes(testing::kTarball));
  uh::testing::WriteFile(device.config.update.download_dir / kRootfs, rootfs.substr(0, kHave));
  SaveStoppedUpdate(device, UpdatePhase::kDownloading);
  if (HasFatalFailure()) return;
  ASSERT_EQ(BytesServed(), 0u);

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << "the device never rebooted; reports: " << ::testing::PrintToString(Statuses());
  // Resumed: the server sent the root file system from byte kHave on, once, and the whole
  // tarball on disk was not fetched again.
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave);
  ExpectSlotBInstalled(device);
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
  EXPECT_THAT(device.Env(), HasSubstr("upgrade_available=1"));
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"downloading", "downloading", "downloaded",
                                                  "installing", "installed", "rebooting"}));
  EXPECT_EQ(Count("rebooting"), 1);

  device.Boot();
  ASSERT_TRUE(device.RunUntil([&] { return Count("updated") == 1; }));
  EXPECT_THAT(device.Env(), HasSubstr("upgrade_available=0"));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
  EXPECT_EQ(device.Reboots(), 1);
  EXPECT_EQ(Rollout()["state"], "finished");
  EXPECT_FALSE(std::filesystem::exists(device.config.storage.state_file));
  EXPECT_FALSE(std::filesystem::exists(device.Path("download") / kRootfs));
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"), rootfs);
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave);  // nothing more after the reboot
}

// Without streaming the raw root file system still goes into slot B as it downloads (besides
// the download directory), the bytes the resume kept included: install finds it there, hashed
// as it was written, and does not write it a second time.
TEST_F(DaemonUpdateTest, TheDownloadedRootFileSystemIsWrittenIntoSlotBAsItArrives) {
  CapturedLog log;
  Device device(server_.Url(""));
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  std::filesystem::create_directories(device.config.update.download_dir);
  uh::testing::WriteFile(device.config.update.download_dir / kRootfs, rootfs.substr(0, kHave));
  SaveStoppedUpdate(device, UpdatePhase::kDownloading);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());
  EXPECT_EQ(SavedPlan(device), "tarball=download rootfs=download_and_target ");
  ExpectSlotBInstalled(device);
  EXPECT_THAT(log.Text(), HasSubstr("writing into /dev/mmcblk0p2 at offset 0 as it arrives"));
  EXPECT_THAT(log.Text(), HasSubstr("written into /dev/mmcblk0p2 and verified as it downloaded"));
  EXPECT_THAT(log.Text(), Not(HasSubstr("installing rootfs.img")));
}

// After a restart the slot is hashed again: when it holds the object, the download file is not
// needed (here it was damaged)...
TEST_F(DaemonUpdateTest, AfterARestartASlotThatHoldsTheObjectIsKept) {
  const auto log = RestartInstallWith(/*slot_holds_it=*/true);
  EXPECT_THAT(log, HasSubstr("written into /dev/mmcblk0p2 as it downloaded, and verified"));
  EXPECT_THAT(log, Not(HasSubstr("installing rootfs.img")));
}

// ... and when it no longer does, the object is written from the download file, hashed first
// (ADownloadedObjectDamagedBeforeARestartIsNotInstalled: both damaged).
TEST_F(DaemonUpdateTest, AfterARestartASlotThatNoLongerMatchesIsWrittenFromTheDownloadFile) {
  const auto log = RestartInstallWith(/*slot_holds_it=*/false);
  EXPECT_THAT(log, HasSubstr("installing it from the download file"));
  EXPECT_THAT(log, HasSubstr("installing rootfs.img"));
}

// The same update with its work done as the updatehub program does it: every probe, download,
// check and install in an updatehub-worker process; the daemon only decides.
// The daemon as it runs on a device: one worker process does the whole update (probe,
// downloads, checks, installs, reports) and is gone before the reboot; none is left waiting.
TEST_F(DaemonUpdateTest, FullUpdateThroughUpdatehubWorkerProcesses) {
  Device device(server_.Url(""));
  device.worker = true;
  const auto starts = device.Path("worker-starts");
  device.worker_program = device.Path("counting-worker");
  uh::testing::WriteFile(device.worker_program, "#!/bin/sh\necho >> " + starts.string() +
                                                    "\nexec " UH_WORKER_PROGRAM "\n");
  std::filesystem::permissions(device.worker_program, std::filesystem::perms::owner_all);
  const auto workers = [] {
    return uh::testing::ChildProcesses(::getpid(), "updatehub-worke").size();
  };
  const std::string rootfs = ObjectBytes(kRootfs);
  std::size_t workers_at_reboot = 99;
  ASSERT_TRUE(device.RunUntil([&] {
    if (device.Reboots() != 1) return false;
    workers_at_reboot = workers();
    return true;
  })) << "the device never rebooted; reports: "
      << ::testing::PrintToString(Statuses());
  EXPECT_EQ(uh::testing::ReadFile(starts).size(), 1u);
  EXPECT_EQ(workers_at_reboot, 0u);
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                  "installed", "rebooting"}));
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"), rootfs);
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p3" / "data" /
                                  "etc" / "motd"),
            std::string(uh::testing::kTestMotd));
  device.Boot();
  // After the boot: validated, `updated` reported, and back to waiting, without a worker.
  ASSERT_TRUE(device.RunUntil([&] { return Count("updated") == 1 && workers() == 0; }));
  EXPECT_THAT(device.Env(), HasSubstr("upgrade_available=0"));
  EXPECT_EQ(Rollout()["state"], "finished");
}

TEST_F(DaemonUpdateTest, ResumesAnInterruptedDownloadAtExactlyTheBytesOnDisk) {
  Device device(server_.Url(""));
  // A run of the agent was cut off 300 KiB into the root file system.
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  std::filesystem::create_directories(device.config.update.download_dir);
  uh::testing::WriteFile(device.config.update.download_dir / kRootfs, rootfs.substr(0, kHave));
  SaveStoppedUpdate(device, UpdatePhase::kDownloading);
  if (HasFatalFailure()) return;

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }));
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"), rootfs);
  // The server sent the rest of the root file system and the tarball, not a byte more.
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave + ObjectBytes(testing::kTarball).size());
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
}

// update.stream_objects: the raw root file system goes straight into slot B's partition while it
// downloads, and the tarball is piped into its installer, both in the worker as on a device. The
// download directory could not hold a copy of either: their paths there are directories.
TEST_F(DaemonUpdateTest, StreamsEveryObjectIntoSlotBWithoutACopy) {
  CapturedLog log;
  Device device(server_.Url(""));
  device.worker = true;
  device.config.update.stream_objects = true;
  BlockObjectCopies(device);
  const std::string rootfs = ObjectBytes(kRootfs);
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << "the device never rebooted; reports: " << ::testing::PrintToString(Statuses());
  ExpectSlotBInstalled(device);
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                  "installed", "rebooting"}));
  EXPECT_FALSE(
      std::filesystem::exists(device.config.update.download_dir / (kRootfs + ".streamed")));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
  EXPECT_EQ(SavedPlan(device), "tarball=pipe rootfs=into_target ");
  // Each object was fetched once.
  EXPECT_EQ(BytesServed(), rootfs.size() + ObjectBytes(testing::kTarball).size());
  // Hashed as it arrived, in this run: the slot is not read back (after a restart it is, see
  // AStreamedSlotThatNoLongerMatchesIsNotActivated).
  EXPECT_THAT(log.Text(), HasSubstr("streamed into /dev/mmcblk0p2 and verified as it arrived"));
}

// An object installed while it downloaded is done: after a restart (a power cut) it is neither
// fetched nor installed again.
TEST_F(DaemonUpdateTest, AnObjectInstalledWhileItDownloadedIsNotFetchedAgain) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  const auto partition = device.config.update.target_root / "dev" / "mmcblk0p3";
  std::filesystem::create_directories(partition / "data");
  uh::testing::WriteFile(partition / "data" / "marker", "extracted before the cut");
  SaveStoppedUpdate(device, UpdatePhase::kDownloading, {testing::kTarball});
  if (HasFatalFailure()) return;

  const std::string rootfs = ObjectBytes(kRootfs);
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"), rootfs);
  EXPECT_EQ(uh::testing::ReadFile(partition / "data" / "marker"), "extracted before the cut");
  EXPECT_FALSE(std::filesystem::exists(partition / "data" / "etc" / "motd"));
  EXPECT_EQ(BytesServed(), rootfs.size());
}

// The plan is decided once, at validation: cut off mid-download, the update resumes as it was
// planned, whatever update.stream_objects says by the next start. Streamed before the cut, it
// goes on streaming (the download directory could not hold a copy)...
TEST_F(DaemonUpdateTest, AResumedUpdateStreamsAsPlannedAfterStreamingWasTurnedOff) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = false;
  BlockObjectCopies(device);
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  const auto slot = device.config.update.target_root / "dev" / "mmcblk0p2";
  uh::testing::WriteFile(slot, rootfs.substr(0, kHave) + std::string(rootfs.size() - kHave, '\0'));
  uh::testing::WriteFile(device.config.update.download_dir / (kRootfs + ".streamed"),
                         kRootfs + " 0 " + std::to_string(kHave) + "\n");
  SaveStoppedUpdate(
      device, UpdatePhase::kDownloading, {},
      DeliveryPlan({{testing::kTarball, Delivery::kPipe}, {kRootfs, Delivery::kIntoTarget}}));
  if (HasFatalFailure()) return;

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());
  ExpectSlotBInstalled(device);
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave + ObjectBytes(testing::kTarball).size());
  EXPECT_EQ(SavedPlan(device), "tarball=pipe rootfs=into_target ");
}

// ... and downloaded into the download directory before the cut, it resumes there at the bytes
// on disk, though streaming was turned on since.
TEST_F(DaemonUpdateTest, AResumedUpdateDownloadsAsPlannedAfterStreamingWasTurnedOn) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  std::filesystem::create_directories(device.config.update.download_dir);
  uh::testing::WriteFile(device.config.update.download_dir / kRootfs, rootfs.substr(0, kHave));
  SaveStoppedUpdate(
      device, UpdatePhase::kDownloading, {},
      DeliveryPlan({{testing::kTarball, Delivery::kDownload}, {kRootfs, Delivery::kDownload}}));
  if (HasFatalFailure()) return;

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());
  ExpectSlotBInstalled(device);
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave + ObjectBytes(testing::kTarball).size());
  EXPECT_FALSE(
      std::filesystem::exists(device.config.update.download_dir / (kRootfs + ".streamed")));
  EXPECT_EQ(SavedPlan(device), "tarball=download rootfs=download ");
}

// A state file saved by an agent without delivery plans: the plan is derived from the config
// as that agent decided on the fly (here: streaming), and saved from then on.
TEST_F(DaemonUpdateTest, AnOldStateFileWithoutAPlanResumesAsTheConfigSays) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  BlockObjectCopies(device);
  SaveStoppedUpdate(device, UpdatePhase::kDownloading);
  if (HasFatalFailure()) return;
  ASSERT_EQ(uh::testing::ReadFile(device.config.storage.state_file).find("\"plan\""),
            std::string::npos);

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());
  ExpectSlotBInstalled(device);
  EXPECT_EQ(SavedPlan(device), "tarball=pipe rootfs=into_target ");
}

// A compressed raw image is decompressed into its slot while it downloads (the test
// package's kernel.img.gz: chunk-size 4096, seek 2). Its boot.img.xz asks install-if-different,
// which needs the whole object first: it goes through the download directory, as it targets
// another partition that does not hold the kernel back.
TEST_F(DaemonUpdateTest, PipesACompressedImageIntoItsSlot) {
  const std::string compressed_uid = uh::testing::TestPackageUid("compressed.uhupkg");
  const std::string kernel = uh::testing::TestObjectSha256("compressed.uhupkg", "kernel.img.gz");
  ASSERT_EQ(
      server_.Api("POST", "/api/v1/rollouts/" + std::to_string(rollout_id_) + "/pause").status,
      200);
  ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "compressed.uhupkg").status, 201);
  ASSERT_EQ(server_
                .Api("POST",
                     std::string("/api/v1/products/") + server::testing::kConformanceProduct +
                         "/rollouts",
                     {{"package", compressed_uid}})
                .status,
            201);

  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  const auto dev = device.config.update.target_root / "dev";
  uh::testing::WriteFile(dev / "mmcblk0p1", std::string(65536, 'b'));
  uh::testing::WriteFile(dev / "mmcblk0p6", std::string(400000, 'o'));
  std::filesystem::create_directories(device.config.update.download_dir / kernel);
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }))
      << ::testing::PrintToString(Statuses());

  const auto gz = device.Path("kernel.img.gz");
  uh::testing::WriteFile(gz, ObjectBytes(kernel, "compressed.uhupkg"));
  auto expected = uh::testing::Run({"gzip", "-dc", gz.string()});
  ASSERT_EQ(expected.status, 0) << expected.err;
  ASSERT_EQ(expected.out.size(), 300000u);
  const auto slot = uh::testing::ReadFile(dev / "mmcblk0p6");
  ASSERT_EQ(slot.size(), 400000u);
  EXPECT_TRUE(slot.substr(0, 8192) == std::string(8192, 'o'));
  EXPECT_TRUE(slot.substr(8192, 300000) == expected.out);
  EXPECT_TRUE(slot.substr(308192) == std::string(400000 - 308192, 'o'));
  EXPECT_NE(uh::testing::ReadFile(dev / "mmcblk0p1"), std::string(65536, 'b'));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
}

// A stream cut off (by a power cut: the state and the progress record are all that is left)
// resumes after the bytes the record vouches for, hashed again from the slot.
TEST_F(DaemonUpdateTest, AStreamResumesAfterItsRecordedBytes) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  const std::string rootfs = ObjectBytes(kRootfs);
  constexpr std::size_t kHave = 300 * 1024;
  const auto slot = device.config.update.target_root / "dev" / "mmcblk0p2";
  uh::testing::WriteFile(slot, rootfs.substr(0, kHave) + std::string(rootfs.size() - kHave, '\0'));
  std::filesystem::create_directories(device.config.update.download_dir);
  uh::testing::WriteFile(device.config.update.download_dir / (kRootfs + ".streamed"),
                         kRootfs + " 0 " + std::to_string(kHave) + "\n");
  SaveStoppedUpdate(device, UpdatePhase::kDownloading);
  if (HasFatalFailure()) return;

  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }));
  EXPECT_EQ(uh::testing::ReadFile(slot), rootfs);
  EXPECT_EQ(BytesServed(), rootfs.size() - kHave + ObjectBytes(testing::kTarball).size());
}

// What a slot holds is hashed again before it is activated: a slot damaged after the stream
// (or a record that lies) fails the install, and the slot is not switched.
TEST_F(DaemonUpdateTest, AStreamedSlotThatNoLongerMatchesIsNotActivated) {
  Device device(server_.Url(""));
  device.config.update.stream_objects = true;
  const std::string rootfs = ObjectBytes(kRootfs);
  std::string damaged = rootfs;
  damaged[1000] = static_cast<char>(damaged[1000] ^ 0x01);
  const auto slot = device.config.update.target_root / "dev" / "mmcblk0p2";
  uh::testing::WriteFile(slot, damaged);
  // The update was offered, and in its install phase when the agent stopped.
  StopInInstallPhase(device, {});
  if (HasFatalFailure()) return;
  const auto report = RunUntilErrorReport(device);
  // Never switched: the bootloader env was not even written.
  EXPECT_FALSE(std::filesystem::exists(device.Path("abenv")));
  EXPECT_THAT(report.value("error_message", ""), HasSubstr("hashing to"));
}

// The same for downloaded objects: the install that resumes after a restart hashes them again
// (within one run it does not, as the download hashed them), and a damaged one is not installed.
TEST_F(DaemonUpdateTest, ADownloadedObjectDamagedBeforeARestartIsNotInstalled) {
  CapturedLog log;
  Device device(server_.Url(""));
  const auto slot = device.config.update.target_root / "dev" / "mmcblk0p2";
  const std::string slot_before = uh::testing::ReadFile(slot);
  std::string damaged = ObjectBytes(kRootfs);
  damaged[1000] = static_cast<char>(damaged[1000] ^ 0x01);
  StopInInstallPhase(device, {{kRootfs, damaged}});
  if (HasFatalFailure()) return;
  const auto report = RunUntilErrorReport(device);
  EXPECT_EQ(uh::testing::ReadFile(slot), slot_before);  // nothing of it was written
  EXPECT_THAT(report.value("error_message", ""), HasSubstr("rootfs.img: sha256 "));
  EXPECT_THAT(log.Text(), Not(HasSubstr("installing rootfs.img")));
}

TEST_F(DaemonUpdateTest, FailingValidationRollsBackToSlotAAndReportsTheError) {
  Device device(server_.Url(""));
  device.AddCallback("validate-callback", "echo 'app did not start' >&2; exit 1");
  device.AddCallback("rollback-callback", "echo rolled > " + device.Path("rolled").string());
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }));

  device.Boot();
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 2; }));
  EXPECT_TRUE(std::filesystem::exists(device.Path("rolled")));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=0"));
  EXPECT_THAT(device.Env(), HasSubstr("upgrade_available=0"));
  EXPECT_EQ(Count("failed"), 1);
  auto errors = json::parse(server_.Api("GET", "/api/v1/reports?status=error").body)["reports"];
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0]["error_message"].get<std::string>(), HasSubstr("validate-callback"));
  EXPECT_THAT(errors[0]["error_message"].get<std::string>(), HasSubstr("rolled back to slot 0"));
  EXPECT_EQ(errors[0]["previous_state"], "rebooting");
  EXPECT_EQ(errors[0]["current_log"], "recent log lines\n");

  // Back on slot A: the old version runs, and the server offers nothing more to a failed device.
  device.Boot();
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=0"));
  ASSERT_TRUE(device.RunUntil([&] { return !Statuses().empty() && Count("failed") == 1; }));
  EXPECT_EQ(device.Reboots(), 2);
}

// The error report of a failed validation goes out from the new slot, with its version; back on
// the old slot the agent probes at once, so the server shows the version the device runs again
// without waiting for the next poll (an hour here).
TEST_F(DaemonUpdateTest, AfterARollbackTheServerSeesTheOldVersionAtOnce) {
  Device device(server_.Url(""));
  device.AddCallback("validate-callback", "echo 'app did not start' >&2; exit 1");
  const auto version = [&] {
    const auto devices =
        json::parse(server_.Api("GET", "/api/v1/devices").body).value("devices", json::array());
    return devices.size() == 1 ? devices[0].value("version", "") : "";
  };
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }));
  device.Boot();
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 2; }));
  ASSERT_EQ(version(), "1.0.0");
  ASSERT_EQ(Count("failed"), 1);

  device.Boot();
  ASSERT_THAT(device.Env(), HasSubstr("updatehub_active=0"));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(device.RunUntil([&] { return version() == "0.9"; }))
      << "the server still shows " << version();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  // The probe changes nothing else: the device failed this rollout, and is not offered it again.
  EXPECT_EQ(Count("failed"), 1);
  EXPECT_EQ(device.Reboots(), 2);
}

TEST(DaemonLocalInstall, APackageFileInstallsWithoutAServerAndBusyStatesRefuseRequests) {
  // No server at all: polling is off, the package comes from a USB stick.
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  InstallOutcome first;
  InstallOutcome second;
  ASSERT_TRUE(device.RunUntil(
      [&] { return device.Reboots() == 1; }, nullptr,
      [&](Daemon& daemon) {
        ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
        EXPECT_FALSE(daemon.AbortDownload());  // nothing is downloading
        first = daemon.RequestLocalInstall(uh::testing::TestPackagesDir() / "signed.uhupkg");
        second = daemon.RequestLocalInstall(uh::testing::TestPackagesDir() / "signed.uhupkg");
      }));
  EXPECT_TRUE(first.accepted);
  EXPECT_EQ(first.state, "park");
  EXPECT_FALSE(second.accepted);  // one at a time
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            ObjectBytes(kRootfs));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
}

TEST(DaemonLocalInstall, AnUnsignedPackageFileIsRefusedWhenTheDeviceHasAKey) {
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  device.AddCallback("error-callback", "echo \"$1\" >> " + device.Path("errors").string());
  StateId last = StateId::kEntryPoint;
  bool accepted = false;
  ASSERT_TRUE(device.RunUntil(
      [&] {
        return std::filesystem::exists(device.Path("errors")) &&
               !std::filesystem::exists(device.config.update.download_dir / kRootfs);
      },
      &last,
      [&](Daemon& daemon) {
        ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
        accepted =
            daemon.RequestLocalInstall(uh::testing::TestPackagesDir() / "unsigned.uhupkg").accepted;
      }));
  EXPECT_TRUE(accepted);
  EXPECT_THAT(uh::testing::ReadFile(device.Path("errors")), HasSubstr("unsigned"));
  EXPECT_EQ(device.Reboots(), 0);
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            std::string(1 << 20, '\0'));
}

// update.stream_objects: a package file is read in place, each object going from it straight
// into its installer (in the worker, as on a device), never unpacked: the download directory
// could not hold the objects (their paths there are directories).
TEST(DaemonLocalInstall, AStreamingDeviceInstallsAPackageFileInPlace) {
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  device.config.update.stream_objects = true;
  device.worker = true;
  BlockObjectCopies(device);
  ASSERT_TRUE(device.RunUntil(
      [&] { return device.Reboots() == 1; }, nullptr,
      [&](Daemon& daemon) {
        ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
        EXPECT_TRUE(
            daemon.RequestLocalInstall(uh::testing::TestPackagesDir() / "signed.uhupkg").accepted);
      }));
  ExpectSlotBInstalled(device);
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
}

// What an in-place install from `stick` leaves when the power goes during its download step,
// with `piped` installed already.
void SaveStoppedInPlaceInstall(const Device& device, const std::filesystem::path& stick,
                               std::vector<std::string> piped) {
  std::filesystem::copy_file(uh::testing::TestPackagesDir() / "signed.uhupkg", stick);
  auto reader = package::PackageReader::Open(stick);
  ASSERT_TRUE(reader);
  UpdateState state;
  state.package_uid = reader->uid();
  state.metadata = reader->metadata_bytes();
  state.signature = reader->signature();
  state.remote = false;
  state.package_file = stick.string();
  state.installed_while_downloading = std::move(piped);
  ASSERT_TRUE(SaveUpdateState(device.config.storage.state_file, state));
}

// The restarted agent goes on from its package file: what was installed is not done again.
TEST(DaemonLocalInstall, AnInterruptedInPlaceInstallResumesFromItsPackageFile) {
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  device.config.update.stream_objects = true;
  SaveStoppedInPlaceInstall(device, device.Path("stick.uhupkg"), {testing::kTarball});
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_TRUE(device.RunUntil([&] { return device.Reboots() == 1; }));
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            ObjectBytes(kRootfs));
  EXPECT_FALSE(std::filesystem::exists(device.config.update.target_root / "dev" / "mmcblk0p3" /
                                       "data" / "etc" / "motd"));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
}

// The package file read in place is gone when the update resumes (a USB stick pulled during a
// power cut): the update fails, nothing is activated, and the daemon goes on.
TEST(DaemonLocalInstall, AResumedInstallWhosePackageFileIsGoneFailsCleanly) {
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  device.config.update.stream_objects = true;
  device.AddCallback("error-callback", "echo \"$1\" >> " + device.Path("errors").string());
  const auto stick = device.Path("stick.uhupkg");
  SaveStoppedInPlaceInstall(device, stick, {});
  if (::testing::Test::HasFatalFailure()) return;
  std::filesystem::remove(stick);

  StateId last = StateId::kEntryPoint;
  ASSERT_TRUE(
      device.RunUntil([&] { return std::filesystem::exists(device.Path("errors")); }, &last));
  EXPECT_THAT(uh::testing::ReadFile(device.Path("errors")), HasSubstr("stick.uhupkg"));
  EXPECT_EQ(device.Reboots(), 0);
  EXPECT_FALSE(std::filesystem::exists(device.Path("abenv")));
  EXPECT_NE(last, StateId::kReboot);
}

// Serves one package file at /update.uhupkg, as a web server a user points the agent at.
class PackageHost {
 public:
  explicit PackageHost(const std::filesystem::path& package) {
    auto router = std::make_shared<uh::server::http::Router>();
    router->Add(uh::server::http::Method::kGet, "/update.uhupkg",
                [bytes = uh::testing::ReadFile(package)](uh::server::http::Request&) {
                  return uh::server::http::Response::Text(200, bytes, "application/zip");
                });
    uh::server::http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    auto server = uh::server::http::HttpServer::Start(std::move(options), router);
    if (!server) throw std::runtime_error(server.error().message());
    server_ = std::move(*server);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

 private:
  std::unique_ptr<uh::server::http::HttpServer> server_;
};

TEST(DaemonRemoteInstall, APackageAtAUrlIsDownloadedVerifiedAndInstalled) {
  PackageHost host(uh::testing::TestPackagesDir() / "signed.uhupkg");
  Device device("http://127.0.0.1:9");  // no update server at all
  device.config.polling.enabled = false;
  InstallOutcome outcome;
  ASSERT_TRUE(device.RunUntil(
      [&] { return device.Reboots() == 1; }, nullptr,
      [&](Daemon& daemon) {
        ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
        outcome = daemon.RequestRemoteInstall(host.Url("/update.uhupkg"));
      }));
  EXPECT_TRUE(outcome.accepted);
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            ObjectBytes(kRootfs));
  EXPECT_THAT(device.Env(), HasSubstr("updatehub_active=1"));
  // Unpacked, then gone: the package is not kept beside its objects.
  EXPECT_FALSE(
      std::filesystem::exists(device.config.update.download_dir / "remote-install.uhupkg"));
}

// Streaming: the downloaded package is read in place (its objects never unpacked beside it),
// and removed once the slot is switched.
TEST(DaemonRemoteInstall, AStreamingDeviceReadsTheDownloadedPackageInPlace) {
  PackageHost host(uh::testing::TestPackagesDir() / "signed.uhupkg");
  Device device("http://127.0.0.1:9");
  device.config.polling.enabled = false;
  device.config.update.stream_objects = true;
  BlockObjectCopies(device);
  ASSERT_TRUE(device.RunUntil(
      [&] { return device.Reboots() == 1; }, nullptr,
      [&](Daemon& daemon) {
        ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
        EXPECT_TRUE(daemon.RequestRemoteInstall(host.Url("/update.uhupkg")).accepted);
      }));
  ExpectSlotBInstalled(device);
  EXPECT_FALSE(
      std::filesystem::exists(device.config.update.download_dir / "remote-install.uhupkg"));
}

TEST(DaemonRemoteInstall, AMissingOrUnsignedPackageAtAUrlInstallsNothing) {
  PackageHost host(uh::testing::TestPackagesDir() / "unsigned.uhupkg");
  for (const std::string path : {"/missing.uhupkg", "/update.uhupkg"}) {
    Device device("http://127.0.0.1:9");
    device.config.polling.enabled = false;
    device.AddCallback("error-callback", "echo \"$1\" >> " + device.Path("errors").string());
    ASSERT_TRUE(device.RunUntil(
        [&] { return std::filesystem::exists(device.Path("errors")); }, nullptr,
        [&](Daemon& daemon) {
          ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
          EXPECT_TRUE(daemon.RequestRemoteInstall(host.Url(path)).accepted);
        }))
        << path;
    EXPECT_EQ(device.Reboots(), 0) << path;
    EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
              std::string(1 << 20, '\0'))
        << path;
  }
}

}  // namespace
}  // namespace uh::agent
