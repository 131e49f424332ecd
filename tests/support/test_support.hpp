#pragma once

// Helpers shared by the tests: temporary directories, files, running programs.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace uh::testing {

// A fresh directory, removed with its content when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& path, std::string_view data);
[[nodiscard]] std::string ReadFile(const std::filesystem::path& path);
// `size` bytes of deterministic pseudo-random data.
[[nodiscard]] std::string RandomBytes(std::size_t size, unsigned seed = 1);

// Directory of the uhu conformance packages; fails the current test when absent.
[[nodiscard]] std::filesystem::path ConformanceDir();
// The updatehub-pkg binary of this build.
[[nodiscard]] std::filesystem::path PkgTool();

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};
// Runs a program (no shell) with the given arguments and captures its output.
[[nodiscard]] RunResult Run(const std::vector<std::string>& argv);

// This process's environment with `extra` (NAME=VALUE) added or replacing.
[[nodiscard]] std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra);

// The content of a file that may vanish while it is read, such as /proc/PID/stat of a process
// that exits (where std::ifstream throws); empty when it cannot be read.
[[nodiscard]] std::string ReadVolatileFile(const std::filesystem::path& path);

// The live (not zombie) child processes of `parent` whose name (/proc/PID/comm, at most 15
// characters) is `name`, or all of them when `name` is empty.
[[nodiscard]] std::vector<int> ChildProcesses(int parent, std::string_view name = {});

// Polls `condition` every `step` until it holds or `limit` passes; returns its last value.
[[nodiscard]] bool WaitUntil(const std::function<bool()>& condition,
                             std::chrono::milliseconds limit, std::chrono::milliseconds step);

}  // namespace uh::testing
