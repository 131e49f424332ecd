#pragma once

// A program run as a child process of the test, in a process group of its own, with its
// stdout and stderr appended to a log file. Whatever happens in the test, the destructor leaves
// nothing of it running: SIGTERM first (a clean stop is what a service manager asks for), then
// SIGKILL to the whole group.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uh::e2e {

class ChildProcess {
 public:
  // Starts `argv` (no shell); `env` entries (NAME=VALUE) are added to this process's
  // environment. Throws std::runtime_error when the program cannot be started.
  ChildProcess(std::vector<std::string> argv, std::filesystem::path log,
               std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Whether it still runs (reaps it, and records how it ended, if not).
  [[nodiscard]] bool Running();
  // SIGTERM to the process, up to `limit` for it to exit, then SIGKILL to its group. Returns
  // how it ended ("exited with status 0", "killed by ..."), also when it had ended before.
  std::string Terminate(std::chrono::milliseconds limit);
  // SIGKILL to the whole group, as a power cut or a crash: nothing runs afterwards.
  void Kill();

  [[nodiscard]] pid_t pid() const { return pid_; }
  // How it ended; empty while it runs.
  [[nodiscard]] const std::string& ending() const { return ending_; }
  [[nodiscard]] bool ExitedCleanly() const { return ending_ == "exited with status 0"; }
  [[nodiscard]] const std::filesystem::path& log() const { return log_; }

 private:
  void Reaped(int wstatus);

  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string ending_;
};

}  // namespace uh::e2e
