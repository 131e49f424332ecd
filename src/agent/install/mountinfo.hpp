#pragma once

// /proc/self/mountinfo, to refuse writing to a target that is mounted.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uh::agent {

struct MountEntry {
  unsigned major = 0;
  unsigned minor = 0;
  std::string mount_point;
  std::string fs_type;
  std::string source;  // the device as given to mount, e.g. /dev/mmcblk0p2
};

// Parses mountinfo text (see proc(5)); lines that are not well formed are skipped, and the
// octal escapes of paths (\040 for a space) are decoded.
[[nodiscard]] std::vector<MountEntry> ParseMountInfo(std::string_view text);

// The mount of `device` (a path as the device sees it), matched by source or, when `rdev` is
// given (the device is a block device), by device number.
[[nodiscard]] std::optional<MountEntry> FindMount(const std::vector<MountEntry>& mounts,
                                                  std::string_view device,
                                                  std::optional<dev_t> rdev);

}  // namespace uh::agent
