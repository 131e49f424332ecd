#include "agent/client/file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <span>
#include <utility>

namespace uh::agent::detail {

FileWriter::FileWriter(File& file, Sha256 hasher, std::uint64_t already, std::uint64_t total,
                       const DownloadControl& control)
    : file_(file),
      hasher_(std::move(hasher)),
      written_(already),
      total_(total),
      control_(control),
      flushed_(already) {
  buffer_.reserve(kIoBufferSize);
}

Expected<void> FileWriter::Write(std::string_view data) {
  written_ += data.size();
  while (!data.empty()) {
    const auto take = std::min(data.size(), kIoBufferSize - buffer_.size());
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (buffer_.size() == kIoBufferSize) UH_TRY(Flush());
  }
  ReportProgress(false);
  return {};
}

Expected<void> FileWriter::Flush() {
  if (buffer_.empty()) return {};
  auto written = file_.WriteAll(buffer_);
  if (written && copy_ != nullptr) written = WriteCopy();
  flushed_ += buffer_.size();
  unwritten_out_ += buffer_.size();
  // Hashed whether or not the write worked: the digest covers every byte accepted.
  buffer_ = hasher_.Submit(std::move(buffer_));
  if (buffer_.capacity() < kIoBufferSize) buffer_.reserve(kIoBufferSize);
  if (written && unwritten_out_ >= kWriteOutStep) StartWriteOut();
  return written;
}

Expected<void> FileWriter::WriteCopy() {
  const std::uint64_t at = copy_offset_ + flushed_;
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const auto n = ::pwrite(copy_->fd(), buffer_.data() + done, buffer_.size() - done,
                            static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno("write the copy");
    if (n == 0) return Fail(Errc::kNoSpace, "the copy's target is full");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void FileWriter::StartWriteOut() {
  unwritten_out_ = 0;
  if (copy_ != nullptr) {
    // Its bytes from the last write-out on (they are contiguous: one object, in order).
    const std::uint64_t end = copy_offset_ + flushed_;
    const std::uint64_t from = std::min<std::uint64_t>(
        end, written_out_ ? static_cast<std::uint64_t>(*written_out_) : copy_offset_);
    uh::StartWriteOut(copy_->fd(), from, end - from);
    written_out_ = static_cast<off_t>(end);
    return;
  }
  const off_t now = ::lseek(file_.fd(), 0, SEEK_CUR);
  if (now < 0) return;
  const off_t from = written_out_.value_or(0) <= now ? written_out_.value_or(0) : 0;
  uh::StartWriteOut(file_.fd(), static_cast<std::uint64_t>(from),
                    static_cast<std::uint64_t>(now - from));
  written_out_ = now;
}

std::string FileWriter::HexDigest() {
  if (!buffer_.empty()) buffer_ = hasher_.Submit(std::move(buffer_));
  return hasher_.HexDigest();
}

Expected<void> FileWriter::Restart() {
  buffer_.clear();
  if (base_) {
    if (::lseek(file_.fd(), static_cast<off_t>(*base_), SEEK_SET) < 0) return FailErrno("seek");
  } else {
    if (::ftruncate(file_.fd(), 0) != 0) return FailErrno("truncate");
    if (::lseek(file_.fd(), 0, SEEK_SET) != 0) return FailErrno("seek");
  }
  hasher_.Reset();
  written_ = 0;
  flushed_ = 0;
  written_out_.reset();
  reported_.reset();
  return {};
}

void FileWriter::ReportProgress(bool force) {
  if (!control_.progress) return;
  if (!force && reported_ && written_ - *reported_ < kProgressStep) return;
  reported_ = written_;
  control_.progress(written_, total_);
}

Expected<File> OpenReadWrite(const std::filesystem::path& path, bool truncate) {
  const int flags = O_RDWR | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return FailErrno("open " + path.string());
  return File(fd);
}

std::filesystem::path DirectoryOf(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

}  // namespace uh::agent::detail
