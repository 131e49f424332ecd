// install-if-different: does the target already hold what installing the object would write?
// Upstream checks raw (the target from seek, count chunks long), copy (the file at
// target-path) and flash (the device) objects, and installs when the check fails.
//
// Where we differ: upstream hashes the whole target region and compares it with the object's
// sha256sum, so a partition larger than its image, or a compressed object, never matches. We
// hash what the install would write (decompressed, after skip and count) and compare it with
// the same number of bytes of the target (all of a copy target file). Everything upstream finds
// equal, we do too.

#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "agent/install/confined.hpp"
#include "agent/install/installer.hpp"
#include "agent/install/mounted_target.hpp"
#include "agent/install/object_stream.hpp"
#include "agent/install/target.hpp"
#include "agent/install/version_finder.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

using package::InstallIfDifferent;

struct Content {
  std::string sha256;
  std::uint64_t size = 0;
};

// What installing the object writes: its bytes, decompressed, with raw's skip and count.
Expected<Content> WrittenContent(const package::Object& object, const InstallContext& ctx) {
  std::uint64_t skip = 0;
  std::optional<std::uint64_t> limit;
  if (object.mode == package::Mode::kRaw) {
    auto skip_bytes = CheckedMultiply(object.Skip(), object.ChunkSize(), "skip");
    if (!skip_bytes) return std::unexpected(std::move(skip_bytes.error()));
    skip = *skip_bytes;
    if (object.Count() >= 0) {
      auto count_bytes =
          CheckedMultiply(static_cast<std::uint64_t>(object.Count()), object.ChunkSize(), "count");
      if (!count_bytes) return std::unexpected(std::move(count_bytes.error()));
      limit = *count_bytes;
    }
  }
  if (!object.IsCompressed() && skip == 0 && (!limit || *limit >= object.size)) {
    return Content{object.sha256sum, object.size};
  }
  if (ctx.object_file.empty()) {
    return Fail(Errc::kInvalidArgument,
                "the sha256sum check of a compressed or partly written "
                "object needs the downloaded object");
  }
  auto stream = ObjectStream::Open(ctx.object_file, object.IsCompressed());
  if (!stream) return std::unexpected(std::move(stream.error()));
  auto skipped = stream->Skip(skip);
  if (!skipped) return std::unexpected(std::move(skipped.error()));
  Sha256 hash;
  Content content;
  std::vector<std::byte> buffer(kIoBufferSize);
  for (;;) {
    UH_TRY(CheckCancelled(ctx));
    std::size_t want = buffer.size();
    if (limit)
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *limit - content.size));
    if (want == 0) break;
    auto n = stream->Read(std::span(buffer.data(), want));
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) break;
    hash.Update(std::span<const std::byte>(buffer.data(), *n));
    content.size += *n;
  }
  content.sha256 = hash.HexDigest();
  return content;
}

// sha256 of the first `size` bytes of the region; nullopt when it is shorter.
Expected<std::optional<std::string>> HashPrefix(const ByteRegion& region, std::uint64_t size,
                                                const InstallContext& ctx) {
  Sha256 hash;
  std::vector<std::byte> buffer(kIoBufferSize);
  std::uint64_t done = 0;
  while (done < size) {
    UH_TRY(CheckCancelled(ctx));
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
    auto n = region.ReadAt(done, std::span(buffer.data(), want));
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) return std::nullopt;
    hash.Update(std::span<const std::byte>(buffer.data(), *n));
    done += *n;
  }
  return hash.HexDigest();
}

// `exact_size`: the target is a file that must be exactly as long as the content.
Expected<bool> Matches(const package::Object& object, const InstallContext& ctx,
                       const ByteRegion& region, std::optional<std::uint64_t> exact_size) {
  const auto& rule = *object.install_if_different;
  Expected<std::optional<std::string>> version = std::nullopt;
  switch (rule.kind) {
    case InstallIfDifferent::Kind::kSha256sum: {
      auto content = WrittenContent(object, ctx);
      if (!content) return std::unexpected(std::move(content.error()));
      if (exact_size && *exact_size != content->size) return false;
      auto digest = HashPrefix(region, content->size, ctx);
      if (!digest) return std::unexpected(std::move(digest.error()));
      return *digest && **digest == content->sha256;
    }
    case InstallIfDifferent::Kind::kLinuxKernel:
      version = LinuxKernelVersion(region);
      break;
    case InstallIfDifferent::Kind::kUBoot:
      version = UBootVersion(region);
      break;
    case InstallIfDifferent::Kind::kCustomPattern:
      version = CustomPatternVersion(region, rule.regexp, rule.seek.value_or(0),
                                     rule.buffer_size.value_or(-1));
      break;
  }
  if (!version) return std::unexpected(std::move(version.error()));
  spdlog::debug("{}: target version {}, package version {}", ObjectLabel(object),
                version->value_or("(none)"), rule.version);
  return *version && **version == rule.version;
}

Expected<bool> DeviceHoldsObject(const package::Object& object, const InstallContext& ctx) {
  auto target = ResolveTarget(object, ctx);
  if (!target) {
    if (target.error().code() == Errc::kNotFound) return false;
    return std::unexpected(std::move(target.error()));
  }
  auto file = File::OpenRead(target->path);
  if (!file) {
    spdlog::debug("{}: {}", ObjectLabel(object), file.error().message());
    return false;
  }
  std::uint64_t base = 0;
  std::optional<std::uint64_t> limit;
  if (object.mode == package::Mode::kRaw) {
    auto seek = CheckedMultiply(object.Seek(), object.ChunkSize(), "seek");
    if (!seek) return std::unexpected(std::move(seek.error()));
    base = *seek;
    if (object.Count() >= 0) {
      auto count =
          CheckedMultiply(static_cast<std::uint64_t>(object.Count()), object.ChunkSize(), "count");
      if (!count) return std::unexpected(std::move(count.error()));
      limit = *count;
    }
  }
  return Matches(object, ctx, ByteRegion(file->fd(), base, limit), std::nullopt);
}

Expected<bool> FileHoldsObject(const package::Object& object, const InstallContext& ctx) {
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  auto relative = ConfinedRelative(object.target_path.value_or(""));
  if (!relative) return std::unexpected(std::move(relative.error()).WithContext("target-path"));
  if (relative->empty()) return Fail(Errc::kMalformed, "target-path names no file");
  auto mounted = MountedTarget::Open(object, ctx, *target, /*allow_format=*/false);
  if (!mounted) return std::unexpected(std::move(mounted.error()));
  // The file and its directory are closed before unmounting, which they would keep busy.
  auto same = [&]() -> Expected<bool> {
    auto dir = OpenConfinedDir(mounted->root(), relative->parent_path(), /*create=*/false);
    if (!dir) return false;
    const int fd =
        ::openat(dir->fd(), relative->filename().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    File file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    return Matches(object, ctx, ByteRegion(fd, 0, std::nullopt),
                   static_cast<std::uint64_t>(st.st_size));
  }();
  if (auto closed = mounted->Close(); !closed) return std::unexpected(std::move(closed.error()));
  return same;
}

}  // namespace

Expected<bool> AlreadyInstalled(const package::Object& object, const InstallContext& ctx) {
  if (!object.install_if_different) return false;
  Expected<bool> same = false;
  switch (CapabilitiesOf(object.mode).if_different) {
    case IfDifferentCheck::kDevice:
      same = DeviceHoldsObject(object, ctx);
      break;
    case IfDifferentCheck::kFile:
      same = FileHoldsObject(object, ctx);
      break;
    case IfDifferentCheck::kNone:
      return false;
  }
  if (!same) {
    return std::unexpected(
        std::move(same.error()).WithContext(ObjectLabel(object) + ": install-if-different"));
  }
  if (*same) spdlog::info("{}: the target already holds it, skipping", ObjectLabel(object));
  return *same;
}

}  // namespace uh::agent
