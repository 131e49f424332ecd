// copy: (format,) mount the target, write the object as the file target-path, chmod/chown,
// unmount. Upstream facts: the object is decompressed when compressed; the directory holding
// target-path must exist; an existing file is overwritten.
//
// Where we differ: upstream truncates the file and writes it in place, so a power cut leaves
// half a file; we write a temporary file beside it, fsync it and rename it over (keeping the
// old file's mode and owner unless target-mode/uid/gid say otherwise). Paths are resolved
// inside the target file system, so a symlink in it cannot send the file elsewhere.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "agent/install/confined.hpp"
#include "agent/install/installers.hpp"
#include "agent/install/mounted_target.hpp"
#include "agent/install/object_stream.hpp"
#include "agent/install/owner.hpp"
#include "agent/install/target.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

constexpr mode_t kNewFileMode = 0644;

// A temporary file in a directory, removed unless renamed into place.
class TempEntry {
 public:
  TempEntry(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  TempEntry(const TempEntry&) = delete;
  TempEntry& operator=(const TempEntry&) = delete;
  ~TempEntry() {
    if (!name_.empty()) ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  void Release() { name_.clear(); }

 private:
  int dir_fd_;
  std::string name_;
};

Expected<std::filesystem::path> TargetFile(const package::Object& object) {
  if (!object.target_path) return Fail(Errc::kMalformed, "copy mode needs a target-path");
  auto relative = ConfinedRelative(*object.target_path);
  if (!relative) return std::unexpected(std::move(relative.error()).WithContext("target-path"));
  if (relative->empty()) return Fail(Errc::kMalformed, "target-path names no file");
  return *relative;
}

Expected<void> CopyContent(ObjectStream& input, int fd, const InstallContext& ctx) {
  File out(::dup(fd));
  if (out.fd() < 0) return FailErrno("dup");
  std::vector<std::byte> buffer(kIoBufferSize);
  for (;;) {
    UH_TRY(CheckCancelled(ctx));
    auto n = input.Read(buffer);
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) return {};
    UH_TRY(out.WriteAll(std::span<const std::byte>(buffer.data(), *n)));
  }
}

// Writes the object as `name` in the directory `dir` through a temporary file.
Expected<void> ReplaceFile(const File& dir, const std::string& name,
                           const FilePermissions& permissions, const package::Object& object,
                           const InstallContext& ctx) {
  struct stat old {};
  const bool exists = ::fstatat(dir.fd(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISDIR(old.st_mode)) {
    return Fail(Errc::kInvalidArgument, "target-path " + name + " is a directory");
  }
  const bool keep_old = exists && S_ISREG(old.st_mode);

  std::random_device random;
  int fd = -1;
  std::string temp;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    temp = "." + name + ".uh-" + std::to_string(random() % 1000000);
    fd = ::openat(dir.fd(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return FailErrno("create " + temp);
  }
  if (fd < 0) return Fail(Errc::kIo, "cannot create a temporary file next to " + name);
  File file(fd);
  TempEntry entry(dir.fd(), temp);

  auto input = ObjectStream::Open(ctx, object.IsCompressed());
  if (!input) return std::unexpected(std::move(input.error()));
  UH_TRY_CTX(CopyContent(*input, fd, ctx), "writing " + name);

  // Owner before mode: chown clears the set-user-id and set-group-id bits.
  const uid_t uid = permissions.uid.value_or(keep_old ? old.st_uid : static_cast<uid_t>(-1));
  const gid_t gid = permissions.gid.value_or(keep_old ? old.st_gid : static_cast<gid_t>(-1));
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchown(fd, uid, gid) != 0) {
    if (permissions.uid || permissions.gid) {
      return FailErrno("chown " + name + " to " + std::to_string(uid) + ":" + std::to_string(gid));
    }
    spdlog::warn("{}: cannot keep the owner of {}: {}", ObjectLabel(object), name,
                 std::strerror(errno));
  }
  const mode_t mode = permissions.mode.value_or(keep_old ? (old.st_mode & 07777) : kNewFileMode);
  if (::fchmod(fd, mode) != 0) return FailErrno("chmod " + name);

  UH_TRY_CTX(file.Sync(), name);
  UH_TRY_CTX(file.Close(), name);
  if (::renameat(dir.fd(), temp.c_str(), dir.fd(), name.c_str()) != 0) {
    return FailErrno("rename " + temp + " to " + name);
  }
  entry.Release();
  ::fsync(dir.fd());
  return {};
}

Expected<void> CheckCopyRequirements(const package::Object& object, const InstallContext& ctx) {
  if (object.target_type.value_or(package::TargetType::kDevice) != package::TargetType::kDevice) {
    return Fail(Errc::kMalformed, "copy mode needs target-type device");
  }
  auto file = TargetFile(object);
  if (!file) return std::unexpected(std::move(file.error()));
  auto permissions = PermissionsOf(object);
  if (!permissions) return std::unexpected(std::move(permissions.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  UH_TRY(CheckTargetFree(*target, ctx, /*allow_directory=*/true));
  UH_TRY(CheckFilesystemRequirements(object, ctx, *target));
  std::error_code ec;
  if (std::filesystem::is_directory(target->path, ec)) {
    // Only a directory target tells its free space before it is mounted.
    auto free = FreeSpace(target->path);
    if (!free) return std::unexpected(std::move(free.error()));
    if (object.InstalledSize() > *free) {
      return Fail(Errc::kNoSpace, "target " + target->device + " has " + std::to_string(*free) +
                                      " bytes free, the object needs " +
                                      std::to_string(object.InstalledSize()));
    }
  }
  return {};
}

Expected<void> InstallCopy(const package::Object& object, const InstallContext& ctx) {
  auto file = TargetFile(object);
  if (!file) return std::unexpected(std::move(file.error()));
  auto permissions = PermissionsOf(object);
  if (!permissions) return std::unexpected(std::move(permissions.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  auto mounted = MountedTarget::Open(object, ctx, *target, /*allow_format=*/true);
  if (!mounted) return std::unexpected(std::move(mounted.error()));
  {
    // Closed before unmounting: an open directory keeps the file system busy.
    auto dir = OpenConfinedDir(mounted->root(), file->parent_path(), /*create=*/false);
    if (!dir) {
      return std::unexpected(std::move(dir.error())
                                 .WithContext("directory of target-path " + *object.target_path +
                                              " in " + target->device));
    }
    UH_TRY_CTX(ReplaceFile(*dir, file->filename().string(), *permissions, object, ctx),
               "target-path " + *object.target_path + " in " + target->device);
  }
  UH_TRY(mounted->Close());
  spdlog::info("{}: installed as {} in {}", ObjectLabel(object), *object.target_path,
               target->device);
  return {};
}

}  // namespace

Expected<void> CopyInstaller::CheckRequirements(const package::Object& object,
                                                const InstallContext& ctx) const {
  return CheckCopyRequirements(object, ctx);
}

Expected<void> CopyInstaller::Install(const package::Object& object,
                                      const InstallContext& ctx) const {
  return InstallCopy(object, ctx);
}

}  // namespace uh::agent
