#pragma once

// The file system of a copy or tarball target, ready to write into: a directory target (a
// simulated device, a test) is used as it is; a device is formatted when format? says so,
// mounted under the work directory and always unmounted afterwards.

#include <filesystem>
#include <string>
#include <vector>

#include "agent/install/installer.hpp"
#include "agent/install/target.hpp"

namespace uh::agent {

class MountedTarget {
 public:
  // `allow_format`: false for read-only uses (the install-if-different check).
  [[nodiscard]] static Expected<MountedTarget> Open(const package::Object& object,
                                                    const InstallContext& ctx, const Target& target,
                                                    bool allow_format);
  MountedTarget(MountedTarget&& other) noexcept;
  MountedTarget& operator=(MountedTarget&& other) noexcept;
  MountedTarget(const MountedTarget&) = delete;
  MountedTarget& operator=(const MountedTarget&) = delete;
  // Unmounts if Close() was not called, logging a failure.
  ~MountedTarget();

  // Where the target's file system is: the mount point, or the directory target itself.
  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  // Unmounts now (a no-op for a directory target).
  [[nodiscard]] Expected<void> Close();

 private:
  MountedTarget(InstallContext ctx, std::filesystem::path root, bool mounted)
      : ctx_(std::move(ctx)), root_(std::move(root)), mounted_(mounted) {}

  InstallContext ctx_;
  std::filesystem::path root_;
  bool mounted_ = false;
};

// Checks the filesystem field and that the tools to format (when asked) and mount a device
// target are on PATH. A directory target needs none.
[[nodiscard]] Expected<void> CheckFilesystemRequirements(const package::Object& object,
                                                         const InstallContext& ctx,
                                                         const Target& target);

// The command that formats `device` as the object's filesystem (upstream's choices of -F, -y,
// -f and flash_erase -j for jffs2), with format-options split into words.
[[nodiscard]] Expected<std::vector<std::string>> FormatCommand(const package::Object& object,
                                                               const std::string& device);

}  // namespace uh::agent
