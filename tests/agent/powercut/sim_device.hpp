#pragma once

// A simulated device on disk for the real agent binary: a config file, the firmware metadata
// scripts, two stand-in slot partitions (regular files under target_root), a bootloader env
// driven by the shipped dist/ab/file scripts, and hooks that let a test stop the agent at a
// precise point and cut its power there.
//
// The device runs the slot that was active at its last boot (Boot()), and each boot gets a new
// boot id in <target_root>/proc/sys/kernel/random/boot_id. The version it reports is read from
// the running slot's content: an image ends with the line "uh-version X", so a slot that was not
// completely written reports "unknown", like a device that booted a broken partition would
// misbehave. Slot 0 runs 1.0; slot 1 starts empty.
//
// Hooks: the device's scripts run `hook NAME` at these points, and a test may hold the Nth
// arrival at one (the script then waits until released, or until the power cut kills it):
//   probe, download, install, reboot, error  the state-change-callback of that state
//   validate                                 the validate-callback (first boot of a new slot)
//   set                                      updatehub-active-set, before it touches the env
//   rebooted                                 the reboot command

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace uh::agent::powercut {

class SimDevice {
 public:
  // `stream_objects`: the agent's update.stream_objects.
  SimDevice(const std::string& server_url, const std::string& product, const std::string& serial,
            bool stream_objects = false);

  [[nodiscard]] std::filesystem::path config_file() const { return dir_ / "updatehub.conf"; }
  [[nodiscard]] std::filesystem::path log_file() const { return dir_ / "agent.log"; }
  // What the agent's environment needs: UPDATEHUB_AB_ENV for the slot commands.
  [[nodiscard]] std::vector<std::string> AgentEnv() const;

  void Hold(std::string_view hook, int nth);
  void ReleaseAll();
  // How many times `hook` was reached, over all runs.
  [[nodiscard]] int Hits(std::string_view hook) const;

  // What the bootloader does at power-on (updatehub-ab-file boot), then the system of the
  // active slot runs; false if the bootloader failed.
  [[nodiscard]] bool Boot();
  [[nodiscard]] int RunningSlot() const;
  // The bootloader env's variables.
  [[nodiscard]] std::map<std::string, std::string> BootEnv() const;

  [[nodiscard]] std::filesystem::path slot_file(int slot) const;
  [[nodiscard]] std::filesystem::path runtime_settings() const {
    return var() / "runtime_settings.conf";
  }
  [[nodiscard]] std::filesystem::path state_file() const { return var() / "state.json"; }
  [[nodiscard]] std::filesystem::path download_dir() const { return dir_ / "download"; }

  // Every broken power-cut invariant, one line each (empty: all hold), given the package's
  // object for slot 1:
  //   - updatehub_active=1 only once slot 1 holds exactly the object;
  //   - the validate-callback runs only in slot 1, booted;
  //   - the env's lines are NAME=VALUE, and updatehub_active is 0 or 1;
  //   - the runtime settings are absent or a JSON object, never moved aside as corrupt;
  //   - the update state file is absent or a JSON object, never moved aside as corrupt.
  [[nodiscard]] std::vector<std::string> Violations(const std::string& object) const;

 private:
  [[nodiscard]] std::filesystem::path var() const { return dir_ / "var"; }
  // The system of `slot` starts: a new boot id.
  void PowerOn(int slot);
  [[nodiscard]] std::filesystem::path hold_file(std::string_view hook, int nth) const;
  // Why slot 1 does not hold exactly `object`; empty when it does.
  [[nodiscard]] std::string SlotProblem(const std::string& object) const;

  uh::testing::TempDir dir_;
  // Size and time stamp of slot 1 when it was last found to hold the object.
  mutable std::optional<std::pair<std::uintmax_t, std::filesystem::file_time_type>> verified_slot_;
};

// The image written to a slot for `version`: `size` bytes ending with "\nuh-version VERSION\n".
[[nodiscard]] std::string SlotImage(std::size_t size, const std::string& version, unsigned seed);

}  // namespace uh::agent::powercut
