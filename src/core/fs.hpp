#pragma once

// Files without surprises: RAII descriptors, bounded reads, atomic replacement (temp file,
// fsync, rename, fsync of the directory) and free-space checks.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh {

// Buffer size for streaming I/O: large enough for disk speed, small enough for a 64 MiB device.
inline constexpr std::size_t kIoBufferSize = 256 * 1024;

class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  ~File();
  File(File&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  [[nodiscard]] static Expected<File> OpenRead(const std::filesystem::path& path);
  // Creates a new file; fails if it exists.
  [[nodiscard]] static Expected<File> CreateNew(const std::filesystem::path& path, mode_t mode);

  [[nodiscard]] int fd() const { return fd_; }
  // Reads up to buffer.size() bytes; 0 means end of file.
  [[nodiscard]] Expected<std::size_t> Read(std::span<std::byte> buffer);
  [[nodiscard]] Expected<void> WriteAll(std::span<const std::byte> data);
  [[nodiscard]] Expected<void> WriteAll(std::string_view data);
  [[nodiscard]] Expected<void> Sync();
  [[nodiscard]] Expected<void> Close();

 private:
  int fd_ = -1;
};

// Asks the kernel to start writing out `length` bytes of the file from `offset` without waiting
// for them, so that a later fsync finds little left to do (a long write can then go on while the
// disk catches up). A hint: where it cannot be done (a pipe, some file systems) nothing changes.
void StartWriteOut(int fd, std::uint64_t offset, std::uint64_t length);

// Reads a whole file, failing with kTooLarge when it is larger than `max_bytes`.
[[nodiscard]] Expected<std::string> ReadFileLimited(const std::filesystem::path& path,
                                                    std::size_t max_bytes);

// A file written under a temporary name next to its destination and renamed over it by
// Commit(); destroyed without Commit(), it removes the temporary file.
class AtomicFile {
 public:
  [[nodiscard]] static Expected<AtomicFile> Create(const std::filesystem::path& destination,
                                                   mode_t mode = 0644);
  AtomicFile(AtomicFile&&) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) noexcept = default;
  ~AtomicFile();

  [[nodiscard]] File& file() { return file_; }
  [[nodiscard]] const std::filesystem::path& temp_path() const { return temp_; }
  // fsync, rename onto the destination, fsync the directory.
  [[nodiscard]] Expected<void> Commit();

 private:
  AtomicFile(std::filesystem::path destination, std::filesystem::path temp, File file)
      : destination_(std::move(destination)), temp_(std::move(temp)), file_(std::move(file)) {}
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  File file_;
  bool committed_ = false;
};

[[nodiscard]] Expected<void> WriteFileAtomic(const std::filesystem::path& path,
                                             std::string_view data, mode_t mode = 0644);

// Bytes available to an unprivileged writer on the file system holding `dir`.
[[nodiscard]] Expected<std::uint64_t> FreeSpace(const std::filesystem::path& dir);

// Fails with kNoSpace unless `needed` bytes (plus a safety margin) fit under `dir`.
[[nodiscard]] Expected<void> CheckFreeSpace(const std::filesystem::path& dir, std::uint64_t needed);

}  // namespace uh
