#include "agent/install/confined.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace uh::agent {
namespace {

std::atomic<bool> openat2_missing{false};

// openat2 with RESOLVE_IN_ROOT; -1 with errno set. ENOSYS (old kernel) and EPERM (a seccomp
// filter that does not know it) switch to the fallback for good.
int OpenInRoot(int root_fd, const std::filesystem::path& relative) {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how));
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
    openat2_missing = true;
    errno = ENOSYS;
  }
  return static_cast<int>(fd);
}

// One step of the fallback walk: a plain directory, never a symlink.
int OpenNoFollow(int dir_fd, const std::filesystem::path& name) {
  return ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

Expected<File> OpenConfinedDir(const std::filesystem::path& root,
                               const std::filesystem::path& relative, bool create) {
  const int root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return FailErrno("open " + root.string());
  File root_dir(root_fd);
  File current(::dup(root_fd));
  if (current.fd() < 0) return FailErrno("dup");
  std::filesystem::path walked;
  for (const auto& part : relative) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return Fail(Errc::kInvalidArgument, "path climbs with '..'");
    walked /= part;
    for (int attempt = 0;; ++attempt) {
      int fd = -1;
      if (!openat2_missing) fd = OpenInRoot(root_dir.fd(), walked);
      if (fd < 0 && (openat2_missing || errno == ENOSYS)) fd = OpenNoFollow(current.fd(), part);
      if (fd >= 0) {
        current = File(fd);
        break;
      }
      if (errno == ELOOP || (errno == ENOTDIR && openat2_missing)) {
        return Fail(Errc::kInvalidArgument, walked.string() + " is a symlink or not a directory");
      }
      if (errno == ENOENT && create && attempt == 0) {
        if (::mkdirat(current.fd(), part.c_str(), 0755) != 0 && errno != EEXIST) {
          return FailErrno("mkdir " + walked.string());
        }
        continue;
      }
      return FailErrno("open " + walked.string());
    }
  }
  return current;
}

Expected<std::filesystem::path> DescriptorPath(const File& file) {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(file.fd()), ec);
  if (ec) return Fail(Errc::kIo, "cannot find the path of an open directory: " + ec.message());
  return path;
}

}  // namespace uh::agent
