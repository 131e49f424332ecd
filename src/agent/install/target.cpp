#include "agent/install/target.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <optional>

#include "agent/install/mountinfo.hpp"
#include "agent/install/mtd.hpp"
#include "core/fs.hpp"

namespace uh::agent {
namespace {

constexpr std::size_t kMaxMountInfo = 4 * 1024 * 1024;

}  // namespace

Expected<std::filesystem::path> ConfinedRelative(std::string_view path) {
  if (path.empty()) return Fail(Errc::kInvalidArgument, "empty path");
  if (path.find('\0') != std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "path contains a NUL byte");
  }
  const std::filesystem::path input(path);
  auto relative = input.relative_path().lexically_normal();
  if (!relative.empty() && relative.filename().empty()) relative = relative.parent_path();
  if (relative == ".") relative.clear();
  if (!relative.empty() && *relative.begin() == "..") {
    return Fail(Errc::kInvalidArgument, "path '" + std::string(path) + "' escapes its root");
  }
  return relative;
}

Expected<std::filesystem::path> RootedPath(const InstallContext& ctx, std::string_view path) {
  auto relative = ConfinedRelative(path);
  if (!relative) return std::unexpected(std::move(relative.error()));
  const auto root = ctx.target_root.empty() ? std::filesystem::path("/") : ctx.target_root;
  if (relative->empty()) return root;
  return root / *relative;
}

Expected<Target> ResolveTarget(const package::Object& object, const InstallContext& ctx) {
  if (!object.target || object.target->empty()) {
    return Fail(Errc::kMalformed, ObjectLabel(object) + " has no target");
  }
  std::string device;
  switch (object.target_type.value_or(package::TargetType::kDevice)) {
    case package::TargetType::kDevice:
      device = *object.target;
      break;
    case package::TargetType::kMtdName: {
      auto found = MtdDeviceByName(*object.target, ctx);
      if (!found) return std::unexpected(std::move(found.error()));
      device = std::move(*found);
      break;
    }
    case package::TargetType::kUbiVolume: {
      auto found = UbiVolumeDevice(*object.target, ctx);
      if (!found) return std::unexpected(std::move(found.error()));
      device = std::move(*found);
      break;
    }
  }
  auto relative = ConfinedRelative(device);
  if (!relative) return std::unexpected(std::move(relative.error()).WithContext("target"));
  auto rooted = RootedPath(ctx, device);
  if (!rooted) return std::unexpected(std::move(rooted.error()).WithContext("target"));
  return Target{"/" + relative->string(), std::move(*rooted)};
}

Expected<void> CheckTargetFree(const Target& target, const InstallContext& ctx,
                               bool allow_directory) {
  struct stat st {};
  if (::stat(target.path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Fail(Errc::kNotFound, "target " + target.device + " does not exist (looked for " +
                                       target.path.string() + ")");
    }
    return FailErrno("target " + target.device);
  }
  if (S_ISDIR(st.st_mode) && !allow_directory) {
    return Fail(Errc::kInvalidArgument, "target " + target.device + " is a directory");
  }
  if (::access(target.path.c_str(), W_OK) != 0) {
    return FailErrno("target " + target.device + " is not writable");
  }
  auto mountinfo_path = RootedPath(ctx, "/proc/self/mountinfo");
  if (!mountinfo_path) return std::unexpected(std::move(mountinfo_path.error()));
  if (auto text = ReadFileLimited(*mountinfo_path, kMaxMountInfo)) {
    const std::optional<dev_t> rdev =
        S_ISBLK(st.st_mode) ? std::optional<dev_t>(st.st_rdev) : std::nullopt;
    if (auto mount = FindMount(ParseMountInfo(*text), target.device, rdev)) {
      return Fail(Errc::kIo, "target " + target.device + " is mounted on " + mount->mount_point);
    }
  } else if (text.error().code() != Errc::kNotFound) {
    return std::unexpected(std::move(text.error()).WithContext("reading mountinfo"));
  }
  if (S_ISBLK(st.st_mode)) {
    // The kernel refuses an exclusive open of a block device that is mounted or held by
    // device-mapper, RAID or swap: the cases mountinfo alone does not show.
    const int fd = ::open(target.path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
    if (fd < 0 && errno == EBUSY) {
      return Fail(Errc::kIo, "target " + target.device + " is in use");
    }
    if (fd >= 0) ::close(fd);
  }
  return {};
}

std::string ObjectLabel(const package::Object& object) {
  return std::string(package::ModeName(object.mode)) + " object '" + object.filename + "'";
}

Expected<void> CheckCancelled(const InstallContext& ctx) {
  if (ctx.cancelled && ctx.cancelled()) return Fail(Errc::kCancelled, "installation cancelled");
  return {};
}

Expected<std::uint64_t> CheckedMultiply(std::uint64_t a, std::uint64_t b, std::string_view what) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return Fail(Errc::kMalformed, std::string(what) + " is too large");
  }
  return a * b;
}

Expected<RawLayout> RawLayoutOf(const package::Object& object) {
  const auto chunk = object.ChunkSize();
  if (chunk == 0) return Fail(Errc::kMalformed, "chunk-size must not be 0");
  RawLayout layout;
  auto skip = CheckedMultiply(object.Skip(), chunk, "skip");
  if (!skip) return std::unexpected(std::move(skip.error()));
  auto seek = CheckedMultiply(object.Seek(), chunk, "seek");
  if (!seek) return std::unexpected(std::move(seek.error()));
  layout.skip = *skip;
  layout.seek = *seek;
  if (object.Count() >= 0) {
    auto limit = CheckedMultiply(static_cast<std::uint64_t>(object.Count()), chunk, "count");
    if (!limit) return std::unexpected(std::move(limit.error()));
    layout.limit = *limit;
  }
  if (layout.seek > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    return Fail(Errc::kMalformed, "seek is too large");
  }
  return layout;
}

Expected<std::optional<StreamTarget>> StreamTargetOf(const package::Object& object,
                                                     const InstallContext& ctx) {
  if (!CapabilitiesOf(object.mode).into_target || object.IsCompressed() || object.Truncate() ||
      object.install_if_different || object.Skip() != 0) {
    return std::optional<StreamTarget>();
  }
  auto layout = RawLayoutOf(object);
  if (!layout) return std::unexpected(std::move(layout.error()));
  if (layout->limit && *layout->limit < object.size) return std::optional<StreamTarget>();
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  return std::optional<StreamTarget>(StreamTarget{target->device, target->path, layout->seek});
}

}  // namespace uh::agent
