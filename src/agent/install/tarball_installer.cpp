// tarball: (format,) mount the target, extract the archive under target-path keeping owners,
// modes, times, ACLs and extended attributes, unmount. Upstream facts: any archive format and
// compression libarchive reads; target-path is created when missing.
//
// Every entry is untrusted: an absolute name, a ".." component, a path through a symlink
// (extracted earlier or already on the target) and a hard link to anything outside are refused
// with an error naming the entry, by our checks and by libarchive's SECURE flags both.

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "agent/install/confined.hpp"
#include "agent/install/installers.hpp"
#include "agent/install/mounted_target.hpp"
#include "agent/install/object_stream.hpp"
#include "agent/install/target.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "package/compression.hpp"

namespace uh::agent {
namespace {

// No ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: it only works relative to the process's current
// directory, which other threads share. We refuse absolute names ourselves, then give libarchive
// each entry as an absolute path under the destination (a real path, without symlinks).
constexpr int kExtractFlags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                              ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_XATTR |
                              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

std::string Message(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown archive error";
}

// The entry's path relative to the destination, or why it is refused.
Expected<std::filesystem::path> EntryPath(const char* name) {
  if (name == nullptr || *name == '\0') return Fail(Errc::kMalformed, "entry without a name");
  const std::filesystem::path path(name);
  if (path.is_absolute()) return Fail(Errc::kMalformed, "absolute path");
  for (const auto& part : path) {
    if (part == "..") return Fail(Errc::kMalformed, "path climbs out with '..'");
  }
  auto relative = path.lexically_normal();
  if (!relative.empty() && relative.filename().empty()) relative = relative.parent_path();
  if (relative == ".") relative.clear();
  return relative;
}

// Refuses a path whose parent directories, under `dest`, include a symlink.
Expected<void> CheckNoSymlinkParents(const std::filesystem::path& dest,
                                     const std::filesystem::path& relative) {
  std::filesystem::path walked = dest;
  for (const auto& part : relative.parent_path()) {
    walked /= part;
    struct stat st {};
    if (::lstat(walked.c_str(), &st) != 0) return {};  // nothing more on disk
    if (S_ISLNK(st.st_mode)) {
      return Fail(Errc::kMalformed,
                  "path goes through the symlink " + walked.lexically_relative(dest).string());
    }
  }
  return {};
}

// Rewrites the entry's paths to absolute ones under `dest` after checking them.
Expected<void> ConfineEntry(archive_entry* entry, const std::filesystem::path& dest) {
  auto path = EntryPath(archive_entry_pathname(entry));
  if (!path) return std::unexpected(std::move(path.error()));
  UH_TRY(CheckNoSymlinkParents(dest, *path));
  const char* link = archive_entry_hardlink(entry);
  if (link != nullptr) {
    auto link_path = EntryPath(link);
    if (!link_path) return std::unexpected(std::move(link_path.error()).WithContext("hard link"));
    if (link_path->empty()) return Fail(Errc::kMalformed, "hard link to the destination itself");
    UH_TRY_CTX(CheckNoSymlinkParents(dest, *link_path), "hard link");
    archive_entry_copy_hardlink(entry, (dest / *link_path).c_str());
  }
  const auto full = path->empty() ? dest : dest / *path;
  archive_entry_copy_pathname(entry, full.c_str());
  return {};
}

Expected<void> CopyData(archive* reader, archive* writer) {
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(reader, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) return Fail(Errc::kMalformed, "reading: " + Message(reader));
    if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_WARN) {
      return Fail(Errc::kIo, "writing: " + Message(writer));
    }
  }
}

Expected<void> Extract(const std::filesystem::path& dest, const InstallContext& ctx) {
  auto file = OpenObjectFile(ctx);
  if (!file) return std::unexpected(std::move(file.error()));
  std::unique_ptr<archive, ReadFree> reader(archive_read_new());
  std::unique_ptr<archive, WriteFree> writer(archive_write_disk_new());
  if (!reader || !writer) return Fail(Errc::kInternal, "cannot allocate an archive reader");
  package::EnableDecompression(reader.get());
  // tar in all its dialects, and the other archive formats a root file system is shipped in.
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_gnutar(reader.get());
  archive_read_support_format_cpio(reader.get());
  archive_read_support_format_zip(reader.get());
  archive_read_support_format_7zip(reader.get());
  archive_write_disk_set_options(writer.get(), kExtractFlags);
  archive_write_disk_set_standard_lookup(writer.get());
  if (archive_read_open_fd(reader.get(), file->fd(), kIoBufferSize) != ARCHIVE_OK) {
    return Fail(Errc::kMalformed, "opening the archive: " + Message(reader.get()));
  }
  std::size_t entries = 0;
  std::size_t warnings = 0;
  for (;;) {
    UH_TRY(CheckCancelled(ctx));
    archive_entry* entry = nullptr;
    const int r = archive_read_next_header(reader.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return Fail(Errc::kMalformed, "reading the archive after " + std::to_string(entries) +
                                        " entries: " + Message(reader.get()));
    }
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name != nullptr ? raw_name : "";
    const std::string label = "entry '" + name + "'";
    UH_TRY_CTX(ConfineEntry(entry, dest), label);
    const int written = archive_write_header(writer.get(), entry);
    if (written < ARCHIVE_WARN) return Fail(Errc::kIo, label + ": " + Message(writer.get()));
    if (written == ARCHIVE_WARN) {
      ++warnings;
      spdlog::debug("{}: {}", label, Message(writer.get()));
    }
    if (archive_entry_size(entry) > 0) UH_TRY_CTX(CopyData(reader.get(), writer.get()), label);
    const int finished = archive_write_finish_entry(writer.get());
    if (finished < ARCHIVE_WARN) return Fail(Errc::kIo, label + ": " + Message(writer.get()));
    if (finished == ARCHIVE_WARN) {
      ++warnings;
      spdlog::debug("{}: {}", label, Message(writer.get()));
    }
    ++entries;
  }
  if (archive_write_close(writer.get()) < ARCHIVE_WARN) {
    return Fail(Errc::kIo, "finishing the extraction: " + Message(writer.get()));
  }
  if (warnings > 0) {
    spdlog::warn("extracting to {}: {} warnings (owners or attributes not applied)", dest.string(),
                 warnings);
  }
  spdlog::debug("extracted {} entries to {}", entries, dest.string());
  return {};
}

Expected<std::filesystem::path> TargetDirectory(const package::Object& object) {
  if (!object.target_path) return Fail(Errc::kMalformed, "tarball mode needs a target-path");
  auto relative = ConfinedRelative(*object.target_path);
  if (!relative) return std::unexpected(std::move(relative.error()).WithContext("target-path"));
  return *relative;
}

Expected<void> CheckTarballRequirements(const package::Object& object, const InstallContext& ctx) {
  auto directory = TargetDirectory(object);
  if (!directory) return std::unexpected(std::move(directory.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  UH_TRY(CheckTargetFree(*target, ctx, /*allow_directory=*/true));
  UH_TRY(CheckFilesystemRequirements(object, ctx, *target));
  std::error_code ec;
  if (std::filesystem::is_directory(target->path, ec)) {
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

Expected<void> InstallTarball(const package::Object& object, const InstallContext& ctx) {
  auto directory = TargetDirectory(object);
  if (!directory) return std::unexpected(std::move(directory.error()));
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  auto mounted = MountedTarget::Open(object, ctx, *target, /*allow_format=*/true);
  if (!mounted) return std::unexpected(std::move(mounted.error()));
  {
    // Closed before unmounting: an open directory keeps the file system busy.
    auto dir = OpenConfinedDir(mounted->root(), *directory, /*create=*/true);
    if (!dir) {
      return std::unexpected(
          std::move(dir.error()).WithContext("target-path " + *object.target_path));
    }
    // libarchive takes paths: the real path of the directory opened inside the target.
    auto dest = DescriptorPath(*dir);
    if (!dest) return std::unexpected(std::move(dest.error()));
    UH_TRY_CTX(Extract(*dest, ctx),
               "extracting into " + *object.target_path + " of " + target->device);
    // Durable before it counts as installed (an install piped during the download is not done
    // again after a power cut).
    if (::syncfs(dir->fd()) != 0) return FailErrno("syncing " + target->device);
  }
  UH_TRY(mounted->Close());
  spdlog::info("{}: extracted into {} of {}", ObjectLabel(object), *object.target_path,
               target->device);
  return {};
}

}  // namespace

Expected<void> TarballInstaller::CheckRequirements(const package::Object& object,
                                                   const InstallContext& ctx) const {
  return CheckTarballRequirements(object, ctx);
}

Expected<void> TarballInstaller::Install(const package::Object& object,
                                         const InstallContext& ctx) const {
  return InstallTarball(object, ctx);
}

}  // namespace uh::agent
