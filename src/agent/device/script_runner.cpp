#include "agent/device/script_runner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "agent/device/ini.hpp"

namespace uh::agent::device_internal {

Expected<void> CheckExecutable(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Fail(Errc::kNotFound, path.string() + " does not exist");
    return FailErrno("stat " + path.string());
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return Fail(Errc::kIo, path.string() + " is not an executable file");
  }
  return {};
}

Expected<ProcessResult> RunScript(const std::vector<std::string>& argv,
                                  const ScriptOptions& options) {
  if (argv.empty()) return Fail(Errc::kInvalidArgument, "no script to run");
  if (argv[0].find('/') != std::string::npos) UH_TRY(CheckExecutable(argv[0]));
  ProcessOptions process;
  process.env = options.env;
  process.timeout = options.timeout;
  process.output_limit = options.output_limit;
  auto result = RunProcess(argv, process);
  if (!result) return std::unexpected(std::move(result.error()));
  if (result->truncated && options.output_matters) {
    return Fail(Errc::kTooLarge,
                argv[0] + " printed more than " + std::to_string(options.output_limit) + " bytes");
  }
  return result;
}

Expected<std::string> RunScriptForOutput(const std::vector<std::string>& argv,
                                         const ScriptOptions& options) {
  auto result = RunScript(argv, options);
  if (!result) return std::unexpected(std::move(result.error()));
  if (!result->Succeeded()) return Fail(Errc::kIo, argv[0] + " " + DescribeFailure(*result));
  return std::move(result->out);
}

std::string DescribeFailure(const ProcessResult& result) {
  std::string text = result.Describe();
  auto err = Trim(result.err);
  if (err.empty()) return text;
  // The end of stderr is where scripts say why they failed.
  constexpr std::size_t kTail = 300;
  if (err.size() > kTail) err = err.substr(err.size() - kTail);
  return text + ": " + std::string(err);
}

}  // namespace uh::agent::device_internal
