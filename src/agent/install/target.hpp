#pragma once

// Where an object goes: paths under the context's root (never escaping it), the resolution of
// target-type (device, mtdname, ubivolume) and the checks every writer makes first.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/install/installer.hpp"

namespace uh::agent {

struct Target {
  std::string device;          // as the device sees it: /dev/mmcblk0p2, /dev/mtd3, /dev/ubi0_1
  std::filesystem::path path;  // the same under ctx.target_root
};

// `path` (as the device sees it) under ctx.target_root. kInvalidArgument when it is empty,
// holds a NUL or climbs out of the root with "..".
[[nodiscard]] Expected<std::filesystem::path> RootedPath(const InstallContext& ctx,
                                                         std::string_view path);
// `path` made relative ("/data/x" -> "data/x", "/" -> ""), refusing what RootedPath refuses.
[[nodiscard]] Expected<std::filesystem::path> ConfinedRelative(std::string_view path);

// The object's target, with target-type applied (mtdname via /proc/mtd, ubivolume via ubinfo).
[[nodiscard]] Expected<Target> ResolveTarget(const package::Object& object,
                                             const InstallContext& ctx);

// The target exists, is writable (a directory only when `allow_directory`), is not mounted
// (<root>/proc/self/mountinfo) and, for a block device, is not held open exclusively.
[[nodiscard]] Expected<void> CheckTargetFree(const Target& target, const InstallContext& ctx,
                                             bool allow_directory);

// "raw object 'rootfs.img'", the start of every installer error.
[[nodiscard]] std::string ObjectLabel(const package::Object& object);

// kCancelled when ctx.cancelled says so.
[[nodiscard]] Expected<void> CheckCancelled(const InstallContext& ctx);

// a * b, or kMalformed naming `what` when it overflows.
[[nodiscard]] Expected<std::uint64_t> CheckedMultiply(std::uint64_t a, std::uint64_t b,
                                                      std::string_view what);

// Where a raw object goes: skip, seek and count multiplied by chunk-size, checked.
struct RawLayout {
  std::uint64_t skip = 0;              // bytes of the object to leave out
  std::uint64_t seek = 0;              // where writing starts in the target
  std::optional<std::uint64_t> limit;  // most bytes to write
};
[[nodiscard]] Expected<RawLayout> RawLayoutOf(const package::Object& object);

}  // namespace uh::agent
