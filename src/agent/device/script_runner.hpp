#pragma once

// Running the device's own scripts (firmware metadata, callbacks, A/B slot commands): each
// with a deadline and an output limit, and with errors that say which script did what.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/process.hpp"

namespace uh::agent::device_internal {

struct ScriptOptions {
  std::chrono::milliseconds timeout{10'000};
  std::size_t output_limit = 64 * 1024;                  // bytes of stdout (and of stderr) kept
  std::vector<std::pair<std::string, std::string>> env;  // added to the child's environment
  // False for scripts whose output is ignored: printing too much is then not an error.
  bool output_matters = true;
};

// Fails with kNotFound ("PATH does not exist") or kIo ("PATH is not an executable file").
[[nodiscard]] Expected<void> CheckExecutable(const std::filesystem::path& path);

// Runs argv (argv[0] a path, or a name looked up on PATH). Fails when the script cannot be
// started, passes the deadline (kTimeout) or, when its output matters, prints more than the
// limit (kTooLarge); a non-zero
// exit is returned as a result.
[[nodiscard]] Expected<ProcessResult> RunScript(const std::vector<std::string>& argv,
                                                const ScriptOptions& options);

// RunScript, and a non-zero exit is an error too: "exited with status 3: <stderr>". Returns
// stdout.
[[nodiscard]] Expected<std::string> RunScriptForOutput(const std::vector<std::string>& argv,
                                                       const ScriptOptions& options);

// "exited with status 3: <the end of stderr>", for error messages.
[[nodiscard]] std::string DescribeFailure(const ProcessResult& result);

}  // namespace uh::agent::device_internal
