// ubifs: ubiupdatevol on the UBI volume named by the target. Upstream facts: ubiupdatevol and
// ubinfo must be on PATH; the volume is found by asking "ubinfo /dev/ubiN -N NAME" for each UBI
// device; "ubiupdatevol /dev/ubiN_M FILE".
//
// Where we differ: upstream pipes a compressed object into "ubiupdatevol DEV -" without its
// size, which ubiupdatevol needs for a pipe; we decompress into a temporary file in the work
// directory and give ubiupdatevol that file.

#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "agent/install/installers.hpp"
#include "agent/install/mtd.hpp"
#include "agent/install/object_stream.hpp"
#include "agent/install/target.hpp"
#include "agent/install/tools.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

// A decompressed copy of the object, removed when it goes.
class TempFile {
 public:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { ::unlink(path_.c_str()); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Expected<void> Decompress(const InstallContext& ctx, const std::filesystem::path& into, int fd) {
  File out(fd);
  auto input = ObjectStream::Open(ctx.object_file, /*decompress=*/true);
  if (!input) return std::unexpected(std::move(input.error()));
  std::vector<std::byte> buffer(kIoBufferSize);
  for (;;) {
    UH_TRY(CheckCancelled(ctx));
    auto n = input->Read(buffer);
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) break;
    UH_TRY_CTX(out.WriteAll(std::span<const std::byte>(buffer.data(), *n)), into.string());
  }
  return out.Close();
}

}  // namespace

Expected<void> UbifsInstaller::CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const {
  UH_TRY(RequireTools({"ubiupdatevol", "ubinfo"}, ctx));
  if (object.target_type != package::TargetType::kUbiVolume) {
    return Fail(Errc::kMalformed, "ubifs mode needs target-type ubivolume");
  }
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  UH_TRY(CheckTargetFree(*target, ctx, /*allow_directory=*/false));
  if (object.IsCompressed() && !object.required_uncompressed_size) return {};
  return CheckFlashRoom(target->device, object.InstalledSize(), ctx);
}

Expected<void> UbifsInstaller::Install(const package::Object& object,
                                       const InstallContext& ctx) const {
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  std::filesystem::path source = ctx.object_file;
  std::optional<TempFile> decompressed;
  if (object.IsCompressed()) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.work_dir, ec);
    if (ec) return Fail(Errc::kIo, "creating " + ctx.work_dir.string() + ": " + ec.message());
    if (object.required_uncompressed_size) {
      UH_TRY(CheckFreeSpace(ctx.work_dir, *object.required_uncompressed_size));
    }
    std::string pattern = (ctx.work_dir / "ubifs-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) return FailErrno("mkstemp " + pattern);
    decompressed.emplace(pattern);
    UH_TRY_CTX(Decompress(ctx, pattern, fd), "decompressing " + object.filename);
    source = pattern;
  }
  auto updated = RunTool({"ubiupdatevol", target->path.string(), source.string()}, ctx);
  if (!updated) {
    return std::unexpected(std::move(updated.error()).WithContext("updating " + target->device));
  }
  spdlog::info("{}: written to UBI volume {} ({})", ObjectLabel(object), *object.target,
               target->device);
  return {};
}

}  // namespace uh::agent
