// uh_runstat: runs a command and reports its wall time, CPU time and peak resident memory, the
// figures bench/package_1gib.sh needs, on systems without GNU time. The peak is the kernel's own
// count (ru_maxrss from wait4), so unlike polling /proc it cannot miss a short-lived peak.
//
//   uh_runstat [--output FILE] -- COMMAND [ARGS...]
//
// writes one line to FILE (default: stderr)
//
//   wall_s=1.234567 user_s=1.000000 sys_s=0.200000 max_rss_kib=3456 status=0
//
// and exits with the command's exit status (128 + N when signal N killed it, 127 when it could
// not be started).

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitCannotRun = 127;
constexpr int kExitUsage = 2;

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

int Usage() {
  std::fputs("usage: uh_runstat [--output FILE] -- COMMAND [ARGS...]\n", stderr);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  const char* output = nullptr;
  int first = 1;
  for (; first < argc; ++first) {
    const std::string_view arg = argv[first];
    if (arg == "--") {
      ++first;
      break;
    }
    if (arg == "--output" && first + 1 < argc) {
      output = argv[++first];
    } else {
      return Usage();
    }
  }
  if (first >= argc) return Usage();

  std::vector<char*> command(argv + first, argv + argc);
  command.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "uh_runstat: fork: %s\n", std::strerror(errno));
    return kExitCannotRun;
  }
  if (pid == 0) {
    ::execvp(command[0], command.data());
    std::fprintf(stderr, "uh_runstat: %s: %s\n", command[0], std::strerror(errno));
    ::_exit(kExitCannotRun);
  }

  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "uh_runstat: wait4: %s\n", std::strerror(errno));
      return kExitCannotRun;
    }
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  const int exit_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                          : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                : kExitCannotRun;

  std::FILE* out = stderr;
  if (output != nullptr) {
    out = std::fopen(output, "w");
    if (out == nullptr) {
      std::fprintf(stderr, "uh_runstat: %s: %s\n", output, std::strerror(errno));
      return kExitCannotRun;
    }
  }
  // On Linux ru_maxrss is in KiB.
  std::fprintf(out, "wall_s=%.6f user_s=%.6f sys_s=%.6f max_rss_kib=%ld status=%d\n", wall.count(),
               Seconds(usage.ru_utime), Seconds(usage.ru_stime), usage.ru_maxrss, exit_status);
  if (out != stderr && std::fclose(out) != 0) {
    std::fprintf(stderr, "uh_runstat: %s: %s\n", output, std::strerror(errno));
    return kExitCannotRun;
  }
  return exit_status;
}
