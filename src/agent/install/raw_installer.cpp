// raw: dd-style write of the object to a device (or a regular file standing in for one).
// Upstream facts: the target must exist (it is never created); truncate opens it with O_TRUNC;
// the object is written at seek * chunk-size, starting skip * chunk-size into the object, at
// most count * chunk-size bytes (count -1: all).
//
// Where we differ: upstream applies skip and count to the compressed bytes of a compressed
// object, which cannot be what a package means; we apply them, like dd, to the decompressed
// data. chunk-size only sets the unit of skip/seek/count: data moves in kIoBufferSize blocks.

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <vector>

#include "agent/install/installers.hpp"
#include "agent/install/object_stream.hpp"
#include "agent/install/target.hpp"
#include "core/fs.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

// The write-out of the target is started after every this many bytes.
constexpr std::uint64_t kWriteOutStep = 4ULL << 20;

// The bytes the install will write, when the metadata tells (nullopt: a compressed object
// without required-uncompressed-size).
std::optional<std::uint64_t> BytesToWrite(const package::Object& object, const RawLayout& layout) {
  if (object.IsCompressed() && !object.required_uncompressed_size) return std::nullopt;
  const auto size = object.InstalledSize();
  auto bytes = size > layout.skip ? size - layout.skip : 0;
  if (layout.limit) bytes = std::min(bytes, *layout.limit);
  return bytes;
}

Expected<void> CheckRoom(const package::Object& object, const Target& target,
                         const RawLayout& layout) {
  const auto bytes = BytesToWrite(object, layout);
  if (!bytes) return {};
  if (layout.seek > std::numeric_limits<std::uint64_t>::max() - *bytes) {
    return Fail(Errc::kMalformed, "seek and size overflow");
  }
  const auto end = layout.seek + *bytes;
  struct stat st {};
  if (::stat(target.path.c_str(), &st) != 0) return FailErrno("stat " + target.device);
  if (S_ISBLK(st.st_mode)) {
    const int fd = ::open(target.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return FailErrno("open " + target.device);
    std::uint64_t capacity = 0;
    const int rc = ::ioctl(fd, BLKGETSIZE64, &capacity);
    ::close(fd);
    if (rc == 0 && end > capacity) {
      return Fail(Errc::kNoSpace, "target " + target.device + " holds " + std::to_string(capacity) +
                                      " bytes, the object needs " + std::to_string(end));
    }
  } else if (S_ISREG(st.st_mode) && end > static_cast<std::uint64_t>(st.st_size)) {
    const auto growth = end - static_cast<std::uint64_t>(st.st_size);
    auto free = FreeSpace(target.path.parent_path());
    if (!free) return std::unexpected(std::move(free.error()));
    if (growth > *free) {
      return Fail(Errc::kNoSpace, "target " + target.device + " must grow by " +
                                      std::to_string(growth) + " bytes, " + std::to_string(*free) +
                                      " are free");
    }
  }
  return {};
}

Expected<void> WriteAt(int fd, std::span<const std::byte> data, std::uint64_t offset) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("write");
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Expected<void> CheckRawRequirements(const package::Object& object, const InstallContext& ctx) {
  if (object.target_type.value_or(package::TargetType::kDevice) != package::TargetType::kDevice) {
    return Fail(Errc::kMalformed, "raw mode needs target-type device");
  }
  auto layout = RawLayoutOf(object);
  if (!layout) return std::unexpected(std::move(layout.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  UH_TRY(CheckTargetFree(*target, ctx, /*allow_directory=*/false));
  return CheckRoom(object, *target, *layout);
}

Expected<void> InstallRaw(const package::Object& object, const InstallContext& ctx) {
  auto layout = RawLayoutOf(object);
  if (!layout) return std::unexpected(std::move(layout.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  auto input = ObjectStream::Open(ctx, object.IsCompressed());
  if (!input) return std::unexpected(std::move(input.error()));

  const int flags = O_WRONLY | O_CLOEXEC | (object.Truncate() ? O_TRUNC : 0);
  const int fd = ::open(target->path.c_str(), flags);
  if (fd < 0) return FailErrno("open target " + target->device);
  File output(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FailErrno("stat target " + target->device);
  if (S_ISDIR(st.st_mode)) {
    return Fail(Errc::kInvalidArgument, "target " + target->device + " is a directory");
  }

  auto skipped = input->Skip(layout->skip);
  if (!skipped) {
    return std::unexpected(std::move(skipped.error()).WithContext("writing to " + target->device));
  }
  if (*skipped < layout->skip) {
    spdlog::warn("{}: skip is past the end of the object, nothing is written", ObjectLabel(object));
  }
  std::vector<std::byte> buffer(kIoBufferSize);
  std::uint64_t written = 0;
  std::uint64_t written_out = 0;  // the bytes whose write-out was started (the sync is shorter)
  for (;;) {
    UH_TRY(CheckCancelled(ctx));
    std::size_t want = buffer.size();
    if (layout->limit) {
      want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *layout->limit - written));
    }
    if (want == 0) break;
    auto n = input->Read(std::span(buffer.data(), want));
    if (!n)
      return std::unexpected(std::move(n.error()).WithContext("writing to " + target->device));
    if (*n == 0) break;
    if (layout->seek + written > std::numeric_limits<std::uint64_t>::max() - *n) {
      return Fail(Errc::kMalformed, "write offset overflows");
    }
    UH_TRY_CTX(WriteAt(fd, std::span(buffer.data(), *n), layout->seek + written),
               "writing target " + target->device);
    written += *n;
    if (written - written_out >= kWriteOutStep) {
      StartWriteOut(fd, layout->seek + written_out, written - written_out);
      written_out = written;
    }
  }
  UH_TRY_CTX(output.Sync(), "target " + target->device);
  UH_TRY_CTX(output.Close(), "target " + target->device);
  spdlog::info("{}: wrote {} bytes to {} at offset {}", ObjectLabel(object), written,
               target->device, layout->seek);
  return {};
}

}  // namespace

Expected<void> VerifyStreamed(const package::Object& object, const StreamTarget& target,
                              const InstallContext& ctx) {
  const int fd = ::open(target.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FailErrno("open target " + target.device);
  File input(fd);
  Sha256 hasher;
  std::vector<std::byte> buffer(kIoBufferSize);
  std::uint64_t done = 0;
  while (done < object.size) {
    UH_TRY(CheckCancelled(ctx));
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), object.size - done));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(target.offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("read target " + target.device);
    }
    if (n == 0) {
      return Fail(Errc::kIntegrity, ObjectLabel(object) + ": target " + target.device +
                                        " ends before the object's " + std::to_string(object.size) +
                                        " bytes");
    }
    hasher.Update(std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
  }
  if (const auto digest = hasher.HexDigest(); digest != object.sha256sum) {
    return Fail(Errc::kIntegrity, ObjectLabel(object) + ": target " + target.device +
                                      " holds content hashing to " + digest + ", expected " +
                                      object.sha256sum);
  }
  return {};
}

Expected<void> RawInstaller::CheckRequirements(const package::Object& object,
                                               const InstallContext& ctx) const {
  return CheckRawRequirements(object, ctx);
}

Expected<void> RawInstaller::Install(const package::Object& object,
                                     const InstallContext& ctx) const {
  return InstallRaw(object, ctx);
}

}  // namespace uh::agent
