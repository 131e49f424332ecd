#pragma once

// Running other programs (firmware metadata scripts, callbacks, flash tools, bootloader
// commands) without a shell: the arguments are passed as they are, never re-parsed.

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

// Runs argv[0] (looked up on PATH when it has no '/') with argv[1..]. A program that exits
// non-zero is a ProcessResult, not an error; a program that cannot be started is
// Errc::kNotFound (missing) or Errc::kIo (not executable, fork failed).
[[nodiscard]] Expected<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                                 const ProcessOptions& options = {});

// The full path of a program on PATH (or `name` itself when it contains '/' and is executable).
[[nodiscard]] Expected<std::filesystem::path> FindProgram(std::string_view name);

}  // namespace uh
