#pragma once

// Installers: one per install mode, chosen from one table keyed by `package::Mode`. An installer
// checks what can be checked before the download (CheckRequirements) and writes a downloaded
// object to its target (Install). Everything a package says is untrusted: every problem is an
// error naming the mode, the object and the target, never a crash.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

struct InstallContext {
  // The object's bytes exactly as in the package (possibly compressed).
  std::filesystem::path object_file;
  // When >= 0, the object's bytes come from this descriptor instead of object_file: a pipe fed
  // while the object downloads, read once from its start (see PipedInstallOf). Only the modes
  // PipedInstallOf names read it. Not carried to a worker.
  int object_fd = -1;
  // Prefix of every target path, device path, mount point and system file (/proc/mtd,
  // /proc/self/mountinfo, /sys/class/mtd, /etc/fw_env.config): "/" on a real device, a
  // directory on a simulated one, so that /dev/mmcblk0p2 is <target_root>/dev/mmcblk0p2.
  std::filesystem::path target_root = "/";
  // Scratch space (mount points, decompressed copies); created when missing.
  std::filesystem::path work_dir = "/tmp/updatehub";
  // Called between chunks of long operations; returning true stops with Errc::kCancelled.
  std::function<bool()> cancelled;
  // PATH used to find and run tools (mount, flash_erase, ...); empty: the agent's own PATH.
  std::string tool_path;
  // Limit for each tool run; 0: none.
  std::chrono::milliseconds tool_timeout{0};
  // uboot-env: the installation set running now (0 or 1); nullopt asks updatehub-active-get.
  std::optional<int> active_set;
};

class Installer {
 public:
  virtual ~Installer() = default;
  // What can be checked before the download: target present, not mounted, tools on PATH,
  // room where it is knowable.
  [[nodiscard]] virtual Expected<void> CheckRequirements(const package::Object& object,
                                                         const InstallContext& ctx) const = 0;
  // Writes ctx.object_file to the object's target.
  [[nodiscard]] virtual Expected<void> Install(const package::Object& object,
                                               const InstallContext& ctx) const = 0;
};

// The installer of a mode; nullptr for modes this agent cannot install (mender, zephyr,
// raw-delta).
[[nodiscard]] const Installer* FindInstaller(package::Mode mode);

// How install-if-different checks a mode's target (install_if_different.cpp).
enum class IfDifferentCheck {
  kNone,    // not supported: the object is always installed
  kDevice,  // the bytes of the target device (raw from seek, count chunks long; flash)
  kFile,    // the file at target-path in the target's file system (copy)
};

// What a mode's installer can do besides installing from a file: the columns of the installer
// table that the delivery plan, streaming and install-if-different are decided from.
struct ModeCapabilities {
  // Its bytes can be written straight into the target while they download (StreamTargetOf
  // says for which objects).
  bool into_target = false;
  // Its installer can read the object once from a pipe (InstallContext::object_fd).
  bool pipe = false;
  IfDifferentCheck if_different = IfDifferentCheck::kNone;
};

// The capability columns of the installer table (installer_table.cpp adds each mode's installer,
// checked at compile time to list the same modes in the same order). They live here, apart
// from the installers, so that the daemon decides a delivery plan without linking them.
// mender and zephyr are for other kinds of device; raw-delta needs the delta engine. Only raw
// writes the object's bytes as they are at a known place of its target (into_target); the tools
// behind flash, ubifs, imxkobs and uboot-env want a file, so their objects are never piped.
struct ModeRow {
  package::Mode mode;
  ModeCapabilities can;
};
inline constexpr std::array kModeTable = {
    ModeRow{package::Mode::kRaw,
            {.into_target = true, .pipe = true, .if_different = IfDifferentCheck::kDevice}},
    ModeRow{package::Mode::kCopy, {.pipe = true, .if_different = IfDifferentCheck::kFile}},
    ModeRow{package::Mode::kTarball, {.pipe = true}},
    ModeRow{package::Mode::kFlash, {.if_different = IfDifferentCheck::kDevice}},
    ModeRow{package::Mode::kUbifs, {}},
    ModeRow{package::Mode::kImxkobs, {}},
    ModeRow{package::Mode::kUbootEnv, {}},
    ModeRow{package::Mode::kTest, {}},
};

// The capabilities of a mode; all off for modes without an installer.
[[nodiscard]] constexpr ModeCapabilities CapabilitiesOf(package::Mode mode) {
  for (const auto& row : kModeTable) {
    if (row.mode == mode) return row.can;
  }
  return {};
}

// FindInstaller + CheckRequirements/Install, with errors prefixed by "<mode> object <filename>".
[[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                               const InstallContext& ctx);
[[nodiscard]] Expected<void> Install(const package::Object& object, const InstallContext& ctx);

// `install-if-different`: true when the target already holds what installing `object` would
// write, so the caller may skip it. False when the object has no such rule, for modes that do
// not support it, and when the target or its version cannot be read. The sha256sum form works
// before the download when the object is uncompressed and written whole; otherwise it needs
// ctx.object_file.
[[nodiscard]] Expected<bool> AlreadyInstalled(const package::Object& object,
                                              const InstallContext& ctx);

// Into the target: where an object can be written while it downloads instead of through a file
// in the download directory. Only objects of a mode with `into_target` written whole and as they
// are qualify: uncompressed, skip 0, no count below the object's size, no truncate, no
// install-if-different (each of those needs the whole object first); nullopt for every other
// object.
struct StreamTarget {
  std::string device;          // as the device sees it: /dev/mmcblk0p2
  std::filesystem::path path;  // the same under ctx.target_root
  std::uint64_t offset = 0;    // seek * chunk-size
};
[[nodiscard]] Expected<std::optional<StreamTarget>> StreamTargetOf(const package::Object& object,
                                                                   const InstallContext& ctx);

// Piped installs: objects an installer can take from a pipe while they download, so that they
// never need room in the download directory: a mode with `pipe` (raw with any compression, skip,
// count, truncate; tarball; copy), without install-if-different (which needs the whole object
// before deciding). The installer reads ctx.object_fd once; what it writes is only trusted
// after the whole object hashed right.
[[nodiscard]] inline bool PipedInstallOf(const package::Object& object) {
  return CapabilitiesOf(object.mode).pipe && !object.install_if_different;
}

// Hashes the object's bytes where they were streamed to and compares them with its sha256sum, so
// that what a slot holds is checked again before the slot is activated.
[[nodiscard]] Expected<void> VerifyStreamed(const package::Object& object,
                                            const StreamTarget& target, const InstallContext& ctx);

}  // namespace uh::agent
