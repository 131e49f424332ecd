#pragma once

// A request body's temporary file: created with a unique name, removed when the object goes,
// whatever happened to the request (handler done, error, disconnect).

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "core/error.hpp"

namespace uh::server::http {

class TempFile {
 public:
  [[nodiscard]] static Expected<TempFile> Create(const std::filesystem::path& dir) {
    std::string pattern = (dir / "uh-upload-XXXXXX").string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) return FailErrno("create temporary file in " + dir.string());
    return TempFile(std::move(pattern), fd);
  }

  TempFile(TempFile&& other) noexcept
      : path_(std::exchange(other.path_, {})), fd_(std::exchange(other.fd_, -1)) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove(path_, ignored);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  // Hands the open descriptor over (to the body parser); the file itself stays owned here.
  [[nodiscard]] int ReleaseFd() { return std::exchange(fd_, -1); }

 private:
  TempFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace uh::server::http
