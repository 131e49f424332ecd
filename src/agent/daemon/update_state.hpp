#pragma once

// The update in progress, persisted (storage.state_file) before every side effect, so that an
// agent killed at any instant (power cut) resumes or restarts the update on its next start:
//
//   phase downloading: resume the downloads as `plan` says (each object continues at the
//                      bytes on disk; objects installed while downloading are in the slot
//                      already, the others piped into their installer start over)
//   phase installing:  verify the downloaded objects again, then install from the start (an
//                      installer only writes the inactive slot, so doing it twice is harmless;
//                      a one-set package is installed over the running system again)
//   phase rebooting:   runtime settings' upgrade_to_installation says which slot to expect
//
// The metadata is kept as its exact bytes (they are what the signature covers), and checked
// again on load: a corrupt or tampered file is moved aside and the update starts over.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/daemon/delivery_plan.hpp"
#include "core/error.hpp"

namespace uh::agent {

enum class UpdatePhase { kDownloading, kInstalling, kRebooting };

[[nodiscard]] std::string_view UpdatePhaseName(UpdatePhase phase);

struct UpdateState {
  UpdatePhase phase = UpdatePhase::kDownloading;
  std::string package_uid;  // sha256 of `metadata`
  std::string metadata;     // the exact bytes from the server or the package file
  std::string signature;    // base64; empty when unsigned
  bool remote = true;       // from the server (reports are sent) or a local/remote install
  int target_slot = 1;      // the inactive slot being installed (the running one in place)
  int previous_slot = 0;    // the slot that was running
  // The kernel's boot id when the reboot was asked for: the same id at the next start means
  // the agent was restarted without a reboot, and the new slot has not run yet.
  std::string boot_id{};
  // How each object travels, decided at validation. nullopt only in a state saved by an agent
  // that had no plans: the daemon derives it on load as that agent did, from the config.
  std::optional<DeliveryPlan> plan{};
  // The objects (sha256) installed while they downloaded (kPipe, kFromPackage), whole and
  // hashed right, with their target synced: neither downloaded nor installed again. Saved as
  // "piped", the name older agents gave it.
  std::vector<std::string> installed_while_downloading{};
  // A local or downloaded package read in place (update.stream_objects): its objects come from
  // this file, which must still be there when the update resumes. Empty: they come from the
  // server, or were unpacked into the download directory.
  std::string package_file{};
};

struct LoadedUpdateState {
  std::optional<UpdateState> state;
  std::optional<std::string> warning;  // the file was corrupt and moved aside
};

// The package uid (sha256) of metadata; nullopt when it cannot be computed now, and the check
// that a loaded state's metadata hashes to its uid is skipped (the state is kept).
using PackageUidOf = std::function<std::optional<std::string>(std::string_view metadata)>;

// A file that is corrupt, or whose metadata does not hash to its uid (`uid_of`), is moved aside
// (warning) and there is no update in progress.
[[nodiscard]] Expected<LoadedUpdateState> LoadUpdateState(const std::filesystem::path& path,
                                                          const PackageUidOf& uid_of);
// Atomic: temporary file, fsync, rename, fsync of the directory.
[[nodiscard]] Expected<void> SaveUpdateState(const std::filesystem::path& path,
                                             const UpdateState& state);
// Removes the file (no update in progress); a missing file is fine.
[[nodiscard]] Expected<void> ClearUpdateState(const std::filesystem::path& path);

}  // namespace uh::agent
