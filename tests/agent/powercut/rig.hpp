#pragma once

// One power-cut rig: a real updatehub-server (in process, port 0) with a 16 MiB raw update in a
// rollout, and one simulated device running the real agent binary. Drive() takes the update to
// its end the way a device lives through it: the agent is restarted after every power cut, and
// at every reboot the power goes off and the bootloader runs (updatehub-ab-file boot) before the
// agent starts again. The invariants (SimDevice::Violations) are checked after every cut, after
// every boot, and every few milliseconds while the agent runs.

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent_process.hpp"
#include "server_fixture.hpp"
#include "sim_device.hpp"

namespace uh::agent::powercut {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSlowdown = 4;  // the agent and the server run under ASan+UBSan
#else
inline constexpr int kSlowdown = 1;
#endif

// The update a rig offers: one raw image (16 MiB of random data ending with the line
// "uh-version 2.0") for /dev/slot0 in set A and /dev/slot1 in set B, signed with the conformance
// key for the conformance product. CompressedPackage() ships the same image gzip-compressed.
struct TestPackage {
  explicit TestPackage(bool compressed);
  uh::testing::TempDir dir;
  std::filesystem::path file;
  std::string uid;
  std::string object;  // what slot 1 must hold in the end
  std::string object_sha256;
  std::uint64_t transfer_size = 0;  // the object's size in the package (compressed or not)
};
[[nodiscard]] const TestPackage& Package();
[[nodiscard]] const TestPackage& CompressedPackage();

// How a rig's device takes its update.
enum class Delivery {
  // Package(), through the download directory, and written into the slot as it arrives
  // (download_and_target): install finds it there.
  kDownloadThenInstall,
  // CompressedPackage() through the download directory, decompressed into the slot at install.
  kCompressedDownloadThenInstall,
  kPiped,  // CompressedPackage() with update.stream_objects: piped into the slot
};

// Where to cut the power once: at the `nth` arrival at a device hook, or as soon as the current
// run's log shows a text.
struct Cut {
  std::string hook;
  int nth = 1;
  std::string log;
  bool boot = true;  // false: only the agent dies (a crash); the device does not reboot
  std::vector<std::pair<std::string, int>> hold;  // hooks held until the cut
};
[[nodiscard]] Cut AtHook(std::string hook, int nth = 1, bool boot = true);
[[nodiscard]] Cut AtLog(std::string text, std::vector<std::pair<std::string, int>> hold = {});

enum class Outcome {
  kUpdated,     // slot 1 holds the update and is validated; the server says `updated`
  kRolledBack,  // the bootloader went back to slot 0; the server says `failed`
};

class Rig {
 public:
  explicit Rig(const std::string& serial, Delivery delivery = Delivery::kDownloadThenInstall);

  // Starts the agent; fails the test if it cannot.
  [[nodiscard]] bool StartAgent();
  // Power cut: the agent's process group dies; then, if `boot`, the bootloader runs. The
  // invariants are checked before and after the boot. `what` names the cut in messages.
  void PowerCut(const std::string& what, bool boot = true);
  // Runs until `outcome`, cutting once at `cut` if given. Starts the agent if it is not running.
  // Fails fast (false) when the run cannot reach `outcome` any more: an error report, the
  // device failed in the rollout, the agent waiting for its next poll, or the agent dead.
  [[nodiscard]] bool Drive(const std::optional<Cut>& cut, Outcome outcome);
  // The final state of a device after Drive reached `outcome`, then stops the agent (SIGTERM,
  // which must end it cleanly).
  void ExpectFinal(Outcome outcome);

  // Adds a failure for each broken invariant; `when` says at what point. False if any broke.
  bool ExpectInvariants(const std::string& when);
  [[nodiscard]] std::int64_t Count(const std::string& state);
  [[nodiscard]] nlohmann::json Reports();
  // Bytes of the object in the download directory (none when piped).
  [[nodiscard]] std::uint64_t DownloadedBytes() const;
  // Object bytes the server has sent (its updatehub_download_bytes_total); -1 if unknown.
  [[nodiscard]] std::int64_t ServedBytes();
  // Everything a failure message should show: the cuts so far, the reports, the agent log.
  [[nodiscard]] std::string Story();

  // Records what happened to the device, with the time since the rig was made (for Story).
  void Note(const std::string& event);

  [[nodiscard]] const TestPackage& package() const { return package_; }
  [[nodiscard]] SimDevice& device() { return *device_; }
  [[nodiscard]] AgentProcess& agent() { return *agent_; }

 private:
  [[nodiscard]] bool Reached(const Cut& cut);
  // Why the update cannot complete any more; empty while it still can.
  [[nodiscard]] std::string Stuck(Outcome outcome);
  [[nodiscard]] bool Done(Outcome outcome);

  const TestPackage& package_;
  server::testing::ServerFixture server_;
  std::unique_ptr<SimDevice> device_;
  std::unique_ptr<AgentProcess> agent_;
  std::vector<std::string> events_;
  std::int64_t rollout_id_ = 0;
  std::chrono::steady_clock::time_point born_ = std::chrono::steady_clock::now();
};

// The state the agent entered last in `log` ("download", "install", ...): the word after the
// last "--> "; empty when none.
[[nodiscard]] std::string LastState(const std::string& log);

}  // namespace uh::agent::powercut
