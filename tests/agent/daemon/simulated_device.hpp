#pragma once

// A simulated device for the daemon tests: a directory whose "disks" are files under
// target_root, firmware metadata scripts, an A/B env file driven by the shipped dist/ab/file
// scripts, and a reboot command that only counts reboots. Slot A runs 0.9; slot B says 1.0.0
// once it boots.

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "agent/backend/local_backend.hpp"
#include "agent/backend/worker_backend.hpp"
#include "agent/daemon/daemon.hpp"
#include "package/package_reader.hpp"
#include "server_fixture.hpp"
#include "support/test_support.hpp"

namespace uh::agent::testing {

using namespace std::chrono_literals;

// The test package signed.uhupkg: its UID and the sha256 of its objects.
inline const std::string kUid = uh::testing::TestPackageUid("signed.uhupkg");
inline const std::string kRootfs = uh::testing::TestObjectSha256("signed.uhupkg", "rootfs.img");
inline const std::string kTarball = uh::testing::TestObjectSha256("signed.uhupkg", "data.tar.gz");

inline void Executable(const std::filesystem::path& path, const std::string& body) {
  std::filesystem::create_directories(path.parent_path());
  uh::testing::WriteFile(path, "#!/bin/sh\n" + body + "\n");
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

// An object's bytes, read from a test package.
inline std::string ObjectBytes(const std::string& sha256,
                               const std::string& package = "signed.uhupkg") {
  auto reader = package::PackageReader::Open(uh::testing::TestPackagesDir() / package);
  EXPECT_TRUE(reader);
  std::string bytes;
  EXPECT_TRUE(reader->ReadObject(sha256, [&](std::span<const std::byte> data) -> Expected<void> {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }));
  return bytes;
}

inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// One simulated device: slot A runs 0.9; slot B says 1.0.0 once it boots.
class Device {
 public:
  explicit Device(const std::string& server_url) {
    const auto root = dir_ / "root";
    std::filesystem::create_directories(root / "dev" / "mmcblk0p3");
    uh::testing::WriteFile(root / "dev" / "mmcblk0p2", std::string(1 << 20, '\0'));
    uh::testing::WriteFile(dir_ / "version.0", "0.9\n");
    uh::testing::WriteFile(dir_ / "version.1", "1.0.0\n");
    const std::string ab = std::string(UH_DIST_DIR) + "/ab/file";
    ::setenv("UPDATEHUB_AB_ENV", (dir_ / "abenv").c_str(), 1);
    const auto meta = dir_ / "metadata";
    Executable(meta / "product-uid", std::string("echo ") + server::testing::kConformanceProduct);
    Executable(meta / "version",
               "cat " + (dir_ / "version.").string() + "$(" + ab + "/updatehub-active-get)");
    Executable(meta / "hardware", "echo board-a");
    Executable(meta / "device-identity.d" / "serial", "echo serial=agent-1");
    std::filesystem::copy_file(uh::testing::TestPackagesDir() / "key.pub", meta / "key.pub");

    config.network.server_address = server_url;
    config.storage.runtime_settings = dir_ / "var" / "runtime_settings.conf";
    config.storage.state_file = dir_ / "var" / "state.json";
    config.update.download_dir = dir_ / "download";
    config.update.target_root = root;
    config.update.reboot_command = {"sh", "-c", "echo >> " + (dir_ / "reboots").string()};
    config.update.slot_commands_dir = ab;
    config.firmware.metadata = meta;
    config.polling.interval = 3600s;
  }

  // Runs a daemon until `done` holds (or 30 s pass), then stops it.
  // `last_state` receives the state the daemon was in when it was stopped.
  // `on_start` runs once the daemon runs (to make requests as the local API would).
  bool RunUntil(const std::function<bool()>& done, StateId* last_state = nullptr,
                const std::function<void(Daemon&)>& on_start = {}) {
    DaemonOptions options;
    options.backend = worker ? MakeWorkerBackend({.program = worker_program}) : MakeLocalBackend();
    options.retry_base = 100ms;
    options.download_retry_base = 20ms;
    options.download_retry_cap = 100ms;
    options.recent_log = [] { return std::string("recent log lines\n"); };
    options.reboot_timeout = 60s;
    auto daemon = Daemon::Create(config, std::move(options));
    if (!daemon) {
      ADD_FAILURE() << daemon.error().message();
      return false;
    }
    std::thread runner([&] { (*daemon)->Run(); });
    if (on_start) on_start(**daemon);
    const bool reached = WaitFor(done);
    if (last_state != nullptr) *last_state = (*daemon)->state();
    (*daemon)->Stop();
    runner.join();
    return reached;
  }

  // What the bootloader does at power-on.
  void Boot() {
    auto booted =
        uh::testing::Run({std::string(UH_DIST_DIR) + "/ab/file/updatehub-ab-file", "boot"});
    ASSERT_EQ(booted.status, 0) << booted.err;
  }
  int Reboots() const {
    const auto path = dir_ / "reboots";
    return std::filesystem::exists(path) ? static_cast<int>(uh::testing::ReadFile(path).size()) : 0;
  }
  void AddCallback(const std::string& name, const std::string& body) {
    Executable(config.firmware.metadata / name, body);
  }
  std::string Env() const { return uh::testing::ReadFile(dir_ / "abenv"); }
  std::filesystem::path Path(const std::string& name) const { return dir_ / name; }

  AgentConfig config;
  // The update's work in updatehub-worker processes, as the updatehub program does it, instead
  // of in the test process.
  bool worker = false;
  std::filesystem::path worker_program = UH_WORKER_PROGRAM;

 private:
  uh::testing::TempDir dir_;
};

}  // namespace uh::agent::testing
