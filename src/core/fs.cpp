#include "core/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace uh {

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Expected<File> File::OpenRead(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + path.string());
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Fail(Errc::kInvalidArgument, path.string() + " is a directory");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return File(fd);
}

Expected<File> File::CreateNew(const std::filesystem::path& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return FailErrno("create " + path.string());
  return File(fd);
}

Expected<std::size_t> File::Read(std::span<std::byte> buffer) {
  for (;;) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return FailErrno("read");
  }
}

Expected<void> File::WriteAll(std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("write");
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

Expected<void> File::WriteAll(std::string_view data) {
  return WriteAll(std::as_bytes(std::span(data.data(), data.size())));
}

Expected<void> File::Sync() {
  if (::fsync(fd_) != 0) return FailErrno("fsync");
  return {};
}

Expected<void> File::Close() {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0) return FailErrno("close");
  return {};
}

Expected<std::string> ReadFileLimited(const std::filesystem::path& path, std::size_t max_bytes) {
  auto file = File::OpenRead(path);
  if (!file) return std::unexpected(file.error());
  std::string out;
  std::byte buffer[64 * 1024];
  for (;;) {
    auto n = file->Read(buffer);
    if (!n) return std::unexpected(n.error().WithContext(path.string()));
    if (*n == 0) return out;
    if (out.size() + *n > max_bytes) {
      return Fail(Errc::kTooLarge,
                  path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(reinterpret_cast<const char*>(buffer), *n);
  }
}

Expected<AtomicFile> AtomicFile::Create(const std::filesystem::path& destination, mode_t mode) {
  std::random_device random;
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto temp = destination;
    temp += ".tmp" + std::to_string(random() % 1000000);
    auto file = File::CreateNew(temp, mode);
    if (file) return AtomicFile(destination, std::move(temp), std::move(*file));
    if (file.error().code() != Errc::kAlreadyExists) return std::unexpected(file.error());
  }
  return Fail(Errc::kIo, "cannot create a temporary file next to " + destination.string());
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty()) {
    (void)file_.Close();
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

Expected<void> AtomicFile::Commit() {
  UH_TRY_CTX(file_.Sync(), temp_.string());
  UH_TRY_CTX(file_.Close(), temp_.string());
  if (::rename(temp_.c_str(), destination_.c_str()) != 0) {
    return FailErrno("rename " + temp_.string() + " to " + destination_.string());
  }
  committed_ = true;
  auto dir = destination_.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Expected<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                               mode_t mode) {
  auto out = AtomicFile::Create(path, mode);
  if (!out) return std::unexpected(out.error());
  UH_TRY_CTX(out->file().WriteAll(data), "writing " + path.string());
  return out->Commit();
}

Expected<std::uint64_t> FreeSpace(const std::filesystem::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return FailErrno("statvfs " + dir.string());
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

Expected<void> CheckFreeSpace(const std::filesystem::path& dir, std::uint64_t needed) {
  auto free = FreeSpace(dir);
  if (!free) return std::unexpected(free.error());
  // Keep a margin so that filling the disk to the last byte does not break other programs.
  constexpr std::uint64_t kMargin = 16 * 1024 * 1024;
  if (needed > *free || *free - needed < kMargin) {
    return Fail(Errc::kNoSpace, "needs " + std::to_string(needed) + " bytes but only " +
                                    std::to_string(*free) + " are free under " + dir.string());
  }
  return {};
}

void StartWriteOut(int fd, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  (void)::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                          SYNC_FILE_RANGE_WRITE);
}

}  // namespace uh
