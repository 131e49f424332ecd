#pragma once

// Running other programs (firmware metadata scripts, callbacks, flash tools, bootloader
// commands) without a shell: the arguments are passed as they are, never re-parsed.

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace uh {

struct ProcessOptions {
  // Variables set (or replaced) in the child's environment, on top of ours.
  std::vector<std::pair<std::string, std::string>> env;
  std::filesystem::path cwd;  // empty: ours
  // 0: no limit. When it passes the child gets SIGTERM, then SIGKILL 2 s later, and the call
  // fails with Errc::kTimeout.
  std::chrono::milliseconds timeout{0};
  // Bytes kept of each of stdout and stderr; the rest is read and dropped, and `truncated` set.
  std::size_t output_limit = 1 << 20;
  std::optional<std::string> stdin_data;  // nullopt: stdin is /dev/null
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that killed it, or 0
  std::string out;
  std::string err;
  bool truncated = false;
  [[nodiscard]] bool Succeeded() const { return exit_code == 0; }
  // "exited with status 3" / "killed by signal 9", for error messages.
  [[nodiscard]] std::string Describe() const;
};

// A file descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Close(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  void Close();

 private:
  int fd_ = -1;
};

// Both ends of a new pipe (close-on-exec): [0] reads, [1] writes.
[[nodiscard]] Expected<std::array<UniqueFd, 2>> MakePipe();

struct SpawnOptions {
  // The program to run; empty: argv[0], looked up on PATH when it has no '/'.
  std::filesystem::path program;
  // Variables set (or replaced) in the child's environment, on top of ours.
  std::vector<std::pair<std::string, std::string>> env;
  std::filesystem::path cwd;  // empty: ours
  bool pipe_stdin = false;    // false: stdin is /dev/null
  bool pipe_stdout = true;    // false: /dev/null
  bool pipe_stderr = true;    // false: ours
  // The child gets SIGKILL when this thread's process dies (PR_SET_PDEATHSIG).
  bool die_with_parent = false;
};

// A started program: its pid and our ends of the pipes asked for. The child starts with default
// signal dispositions and an empty signal mask, whatever ours are. One still running when this
// is destroyed is killed and reaped: no child outlives its handle, and none is left a zombie.
class ChildProcess {
 public:
  // Starts argv with options. A program that cannot be started is Errc::kNotFound (missing)
  // or Errc::kIo (not executable, fork failed), with the reason.
  [[nodiscard]] static Expected<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                                    const SpawnOptions& options = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }
  UniqueFd& in() { return in_; }
  UniqueFd& out() { return out_; }
  UniqueFd& err() { return err_; }

  void Signal(int signal) const;
  // The wait status once it has exited, without waiting; nullopt while it runs.
  [[nodiscard]] std::optional<int> TryWait();
  // Waits for it to exit; returns the wait status.
  int Wait();
  // Waits up to `limit` for it to exit; its wait status, or nullopt while it still runs.
  [[nodiscard]] std::optional<int> WaitFor(std::chrono::milliseconds limit);
  // Waits up to `grace` for it to exit by itself, then kills it (SIGKILL) and waits; a zero
  // grace kills at once. Returns the wait status.
  int Stop(std::chrono::milliseconds grace);

 private:
  ChildProcess() = default;
  int pid_ = -1;
  UniqueFd in_;
  UniqueFd out_;
  UniqueFd err_;
};

// "exited with status 3" / "killed by signal 9" for a wait status.
[[nodiscard]] std::string DescribeWaitStatus(int status);

// Runs argv[0] (looked up on PATH when it has no '/') with argv[1..]. A program that exits
// non-zero is a ProcessResult, not an error; a program that cannot be started is
// Errc::kNotFound (missing) or Errc::kIo (not executable, fork failed).
[[nodiscard]] Expected<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                                 const ProcessOptions& options = {});

// The full path of a program on PATH (or `name` itself when it contains '/' and is executable).
[[nodiscard]] Expected<std::filesystem::path> FindProgram(std::string_view name);

}  // namespace uh
