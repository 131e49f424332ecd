#pragma once

// The file end of a download: bytes go to the file through one bounded buffer (memory use does
// not depend on the download's size), are hashed on a thread of their own while the next block
// arrives, and progress is reported now and then. The kernel is asked to start writing them out
// as they come, so that the sync at a checkpoint or at the end finds little left to do.
// Internal to the client library.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/client/client.hpp"
#include "core/background_hash.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::agent::detail {

class FileWriter {
 public:
  // Appends at the file's current offset, which holds `already` bytes before it (already fed
  // to `hasher`). `total` is the expected final size, 0 when unknown.
  FileWriter(File& file, Sha256 hasher, std::uint64_t already, std::uint64_t total,
             const DownloadControl& control);
  // For a download into part of an existing file or device: the data starts at byte `base`, and
  // Restart goes back there instead of emptying the file.
  void set_base(std::uint64_t base) { base_ = base; }
  // Every byte written to the file from now on also goes into `copy` (an existing file or
  // device) at byte `offset` + its position in the object. The copy is then the one whose
  // write-out starts as it goes; the file's pages are left to the kernel.
  void set_copy(File& copy, std::uint64_t offset) {
    copy_ = &copy;
    copy_offset_ = offset;
  }

  [[nodiscard]] Expected<void> Write(std::string_view data);
  // Writes out the buffer; safe to call at any time, e.g. after a failed transfer so that what
  // arrived is kept for a resume.
  [[nodiscard]] Expected<void> Flush();
  // Empties the file (or returns to the base) and starts over (the server sent the whole object
  // after all).
  [[nodiscard]] Expected<void> Restart();

  // Bytes accepted so far, including those before this writer and those still buffered.
  [[nodiscard]] std::uint64_t written() const { return written_; }
  void set_total(std::uint64_t total) { total_ = total; }
  // Hex digest of everything written (Flush first: the file then holds what it covers); the
  // writer may not be written to afterwards.
  [[nodiscard]] std::string HexDigest();
  // Tells the progress callback where things stand, at most every kProgressStep bytes unless
  // `force`.
  void ReportProgress(bool force);

 private:
  static constexpr std::uint64_t kProgressStep = 64 * 1024;
  // Write-out is started after every this many bytes.
  static constexpr std::uint64_t kWriteOutStep = 4ULL << 20;

  // Starts the write-out of what was written since the last time (uh::StartWriteOut).
  void StartWriteOut();
  [[nodiscard]] Expected<void> WriteCopy();

  File& file_;
  BackgroundSha256 hasher_;
  std::uint64_t written_;
  std::uint64_t total_;
  const DownloadControl& control_;
  std::optional<std::uint64_t> base_;
  std::string buffer_;
  std::optional<std::uint64_t> reported_;
  std::uint64_t unwritten_out_ = 0;   // bytes written since StartWriteOut last ran
  std::optional<off_t> written_out_;  // the file offset StartWriteOut reached
  File* copy_ = nullptr;
  std::uint64_t copy_offset_ = 0;
  std::uint64_t flushed_;  // the position in the object of the next byte Flush writes
};

// Opens (creating it if needed) a file for reading and writing.
[[nodiscard]] Expected<File> OpenReadWrite(const std::filesystem::path& path, bool truncate);

// The directory a file would be created in ("." for a bare name).
[[nodiscard]] std::filesystem::path DirectoryOf(const std::filesystem::path& path);

}  // namespace uh::agent::detail
