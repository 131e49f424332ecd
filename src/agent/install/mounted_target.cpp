#include "agent/install/mounted_target.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "agent/install/tools.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

constexpr std::array<std::string_view, 9> kFilesystems = {"btrfs", "ext2",  "ext3",  "ext4", "vfat",
                                                          "f2fs",  "jffs2", "ubifs", "xfs"};

Expected<std::string> Filesystem(const package::Object& object) {
  if (!object.filesystem) return Fail(Errc::kMalformed, "no filesystem given");
  if (std::find(kFilesystems.begin(), kFilesystems.end(), *object.filesystem) ==
      kFilesystems.end()) {
    return Fail(Errc::kMalformed, "unknown filesystem '" + *object.filesystem + "'");
  }
  return *object.filesystem;
}

bool IsDirectory(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

}  // namespace

Expected<std::vector<std::string>> FormatCommand(const package::Object& object,
                                                 const std::string& device) {
  auto fs = Filesystem(object);
  if (!fs) return std::unexpected(std::move(fs.error()));
  auto options = SplitWords(object.format_options.value_or(""));
  if (!options) return std::unexpected(std::move(options.error()).WithContext("format-options"));
  std::vector<std::string> argv;
  if (*fs == "jffs2") {
    argv = {"flash_erase", "-j"};
  } else {
    argv = {"mkfs." + *fs};
    if (*fs == "ext2" || *fs == "ext3" || *fs == "ext4") argv.emplace_back("-F");
    if (*fs == "ubifs") argv.emplace_back("-y");
    if (*fs == "xfs") argv.emplace_back("-f");
  }
  argv.insert(argv.end(), options->begin(), options->end());
  argv.push_back(device);
  if (*fs == "jffs2") argv.insert(argv.end(), {"0", "0"});
  return argv;
}

Expected<void> CheckFilesystemRequirements(const package::Object& object, const InstallContext& ctx,
                                           const Target& target) {
  auto fs = Filesystem(object);
  if (!fs) return std::unexpected(std::move(fs.error()));
  if (IsDirectory(target.path)) return {};
  UH_TRY(RequireTools({"mount", "umount"}, ctx));
  if (object.Format()) {
    auto command = FormatCommand(object, target.path.string());
    if (!command) return std::unexpected(std::move(command.error()));
    UH_TRY(RequireTools({command->front()}, ctx));
  }
  return {};
}

Expected<MountedTarget> MountedTarget::Open(const package::Object& object,
                                            const InstallContext& ctx, const Target& target,
                                            bool allow_format) {
  auto fs = Filesystem(object);
  if (!fs) return std::unexpected(std::move(fs.error()));
  if (IsDirectory(target.path)) {
    if (allow_format && object.Format()) {
      spdlog::warn("{}: target {} is a directory, format? is ignored", ObjectLabel(object),
                   target.device);
    }
    return MountedTarget(ctx, target.path, false);
  }
  if (allow_format && object.Format()) {
    auto command = FormatCommand(object, target.path.string());
    if (!command) return std::unexpected(std::move(command.error()));
    auto formatted = RunTool(std::move(*command), ctx);
    if (!formatted) {
      return std::unexpected(
          std::move(formatted.error()).WithContext("formatting " + target.device));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(ctx.work_dir, ec);
  if (ec) return Fail(Errc::kIo, "creating " + ctx.work_dir.string() + ": " + ec.message());
  std::string pattern = (ctx.work_dir / "mnt-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return FailErrno("mkdtemp " + pattern);
  std::vector<std::string> argv = {"mount", "-t", *fs};
  if (object.mount_options && !object.mount_options->empty()) {
    argv.insert(argv.end(), {"-o", *object.mount_options});
  }
  argv.insert(argv.end(), {target.path.string(), pattern});
  if (auto mounted = RunTool(std::move(argv), ctx); !mounted) {
    ::rmdir(pattern.c_str());
    return std::unexpected(std::move(mounted.error()).WithContext("mounting " + target.device));
  }
  return MountedTarget(ctx, pattern, true);
}

MountedTarget::MountedTarget(MountedTarget&& other) noexcept
    : ctx_(std::move(other.ctx_)),
      root_(std::move(other.root_)),
      mounted_(std::exchange(other.mounted_, false)) {}

MountedTarget& MountedTarget::operator=(MountedTarget&& other) noexcept {
  if (this != &other) {
    if (mounted_) (void)Close();
    ctx_ = std::move(other.ctx_);
    root_ = std::move(other.root_);
    mounted_ = std::exchange(other.mounted_, false);
  }
  return *this;
}

MountedTarget::~MountedTarget() {
  if (!mounted_) return;
  if (auto closed = Close(); !closed) spdlog::error("{}", closed.error().message());
}

Expected<void> MountedTarget::Close() {
  if (!mounted_) return {};
  mounted_ = false;
  const std::string point = root_.string();
  auto unmounted = RunTool({"umount", point}, ctx_);
  if (!unmounted) {
    // Something still holds the file system: detach it so that it goes once released.
    spdlog::warn("{}; detaching it", unmounted.error().message());
    if (auto lazy = RunTool({"umount", "-l", point}, ctx_); !lazy) {
      return std::unexpected(std::move(lazy.error()).WithContext("unmounting " + point));
    }
  }
  if (::rmdir(point.c_str()) != 0) return FailErrno("rmdir " + point);
  return {};
}

}  // namespace uh::agent
