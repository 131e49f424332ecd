#pragma once

// What a Daemon is made with besides its config (daemon.hpp): its backend and bootloader, and
// the timing of its waits and retries.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "agent/backend/update_backend.hpp"
#include "agent/device/bootloader.hpp"

namespace uh::agent {

struct DaemonOptions {
  // Does the update's heavy work (server, signatures, packages, installers); required. The
  // updatehub program passes a WorkerBackend, tests mostly the LocalBackend.
  std::unique_ptr<UpdateBackend> backend;
  // The A/B backend; null: the updatehub-active-* commands (config.update.slot_commands_dir).
  std::unique_ptr<Bootloader> bootloader;
  // The recent log, sent with error reports.
  std::function<std::string()> recent_log;
  // How long to wait for the reboot command to take the device down before calling it failed.
  std::chrono::milliseconds reboot_timeout{std::chrono::minutes(10)};
  // First wait after a failed probe; doubles per retry up to min(interval, 1 h).
  std::chrono::milliseconds retry_base{std::chrono::seconds(15)};
  // A download cut by the network (connection refused or reset, a timeout, a 5xx) is resumed
  // after a wait that starts here and doubles up to download_retry_cap, at most
  // download_retries times, before the update fails: a server restarting, or a link going down
  // for a few minutes, does not cost the device its update.
  std::chrono::milliseconds download_retry_base{std::chrono::seconds(2)};
  std::chrono::milliseconds download_retry_cap{std::chrono::seconds(60)};
  int download_retries = 8;
  std::uint64_t seed = std::random_device{}();
  // How long a probe asked through the local API may take.
  std::chrono::milliseconds api_probe_wait{std::chrono::minutes(5)};
};

}  // namespace uh::agent
