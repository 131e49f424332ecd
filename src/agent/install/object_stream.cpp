#include "agent/install/object_stream.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

#include "package/compression.hpp"

namespace uh::agent {
namespace {

std::string ArchiveMessage(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown decompression error";
}

}  // namespace

void ObjectStream::ArchiveDeleter::operator()(archive* a) const { archive_read_free(a); }

Expected<File> OpenObjectFile(const InstallContext& ctx) {
  if (ctx.object_fd < 0) return File::OpenRead(ctx.object_file);
  const int fd = ::fcntl(ctx.object_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return FailErrno("the object's stream");
  return File(fd);
}

Expected<ObjectStream> ObjectStream::Open(const std::filesystem::path& path, bool decompress) {
  auto file = File::OpenRead(path);
  if (!file) return std::unexpected(std::move(file.error()));
  return Open(std::move(*file), path, decompress);
}

Expected<ObjectStream> ObjectStream::Open(const InstallContext& ctx, bool decompress) {
  auto file = OpenObjectFile(ctx);
  if (!file) return std::unexpected(std::move(file.error()));
  return Open(std::move(*file), ctx.object_fd >= 0 ? "the object's stream" : ctx.object_file,
              decompress);
}

Expected<ObjectStream> ObjectStream::Open(File file, std::filesystem::path name, bool decompress) {
  ObjectStream stream;
  stream.path_ = std::move(name);
  stream.file_ = std::move(file);
  if (!decompress) return stream;
  const auto& path = stream.path_;

  stream.archive_.reset(archive_read_new());
  archive* a = stream.archive_.get();
  if (a == nullptr) return Fail(Errc::kInternal, "cannot allocate a decompressor");
  package::EnableDecompression(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_fd(a, stream.file_.fd(), kIoBufferSize) != ARCHIVE_OK) {
    return Fail(Errc::kMalformed, "decompressing " + path.string() + ": " + ArchiveMessage(a));
  }
  // Only "none" means the data matched no compression format.
  if (archive_filter_count(a) < 2 || archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
    return Fail(Errc::kMalformed,
                path.string() + " is marked compressed but is in no known compression format");
  }
  archive_entry* entry = nullptr;
  const int r = archive_read_next_header(a, &entry);
  if (r == ARCHIVE_EOF) {
    stream.at_end_ = true;
  } else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    return Fail(Errc::kMalformed, "decompressing " + path.string() + ": " + ArchiveMessage(a));
  }
  return stream;
}

Expected<std::size_t> ObjectStream::Read(std::span<std::byte> buffer) {
  if (at_end_ || buffer.empty()) return 0;
  if (!archive_) {
    auto n = file_.Read(buffer);
    if (!n) return std::unexpected(std::move(n.error()).WithContext(path_.string()));
    return *n;
  }
  for (;;) {
    const la_ssize_t n = archive_read_data(archive_.get(), buffer.data(), buffer.size());
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) {
      at_end_ = true;
      return 0;
    }
    if (n == ARCHIVE_RETRY) continue;
    return Fail(Errc::kMalformed,
                "decompressing " + path_.string() + ": " + ArchiveMessage(archive_.get()));
  }
}

Expected<std::uint64_t> ObjectStream::Skip(std::uint64_t bytes) {
  if (!archive_ && bytes > 0) {
    // A plain file skips by seeking, without reading what it skips.
    const off_t here = ::lseek(file_.fd(), 0, SEEK_CUR);
    struct stat st {};
    if (here >= 0 && ::fstat(file_.fd(), &st) == 0 && S_ISREG(st.st_mode)) {
      const auto size = static_cast<std::uint64_t>(st.st_size);
      const auto from = static_cast<std::uint64_t>(here);
      const auto skipped = std::min(bytes, size > from ? size - from : 0);
      if (::lseek(file_.fd(), static_cast<off_t>(from + skipped), SEEK_SET) < 0) {
        return FailErrno("seek " + path_.string());
      }
      return skipped;
    }
  }
  std::vector<std::byte> buffer(std::min<std::uint64_t>(bytes, kIoBufferSize));
  std::uint64_t skipped = 0;
  while (skipped < bytes) {
    const auto want = std::min<std::uint64_t>(bytes - skipped, buffer.size());
    auto n = Read(std::span(buffer.data(), want));
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) break;
    skipped += *n;
  }
  return skipped;
}

}  // namespace uh::agent
