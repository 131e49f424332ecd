#include "agent/client/file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <span>
#include <utility>

namespace uh::agent::detail {

FileWriter::FileWriter(File& file, Sha256 hasher, std::uint64_t already, std::uint64_t total,
                       const DownloadControl& control)
    : file_(file), hasher_(std::move(hasher)), written_(already), total_(total), control_(control) {
  buffer_.reserve(kIoBufferSize);
}

Expected<void> FileWriter::Write(std::string_view data) {
  hasher_.Update(data);
  written_ += data.size();
  if (buffer_.size() + data.size() > kIoBufferSize) UH_TRY(Flush());
  if (data.size() >= kIoBufferSize) {
    UH_TRY(file_.WriteAll(data));
  } else {
    buffer_.append(data);
  }
  ReportProgress(false);
  return {};
}

Expected<void> FileWriter::Flush() {
  if (buffer_.empty()) return {};
  auto written = file_.WriteAll(buffer_);
  buffer_.clear();
  return written;
}

Expected<void> FileWriter::Restart() {
  buffer_.clear();
  if (base_) {
    if (::lseek(file_.fd(), static_cast<off_t>(*base_), SEEK_SET) < 0) return FailErrno("seek");
  } else {
    if (::ftruncate(file_.fd(), 0) != 0) return FailErrno("truncate");
    if (::lseek(file_.fd(), 0, SEEK_SET) != 0) return FailErrno("seek");
  }
  hasher_ = Sha256();
  written_ = 0;
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
