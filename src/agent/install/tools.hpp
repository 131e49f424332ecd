#pragma once

// The external tools installers run (mount, mkfs.*, flash_erase, ubiupdatevol, kobs-ng,
// fw_setenv...): found on the context's PATH, run without a shell, failures reported with the
// exit status and the end of stderr.

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "agent/install/installer.hpp"
#include "core/process.hpp"

namespace uh::agent {

// Full path of `name` on ctx.tool_path (or our PATH when that is empty).
[[nodiscard]] Expected<std::filesystem::path> FindTool(std::string_view name,
                                                       const InstallContext& ctx);
// Fails with kNotFound naming the first tool that is not on PATH.
[[nodiscard]] Expected<void> RequireTools(std::initializer_list<std::string_view> names,
                                          const InstallContext& ctx);

// Runs argv (argv[0] looked up with FindTool). A tool that exits non-zero is an error:
// "flash_erase exited with status 1: <stderr tail>".
[[nodiscard]] Expected<ProcessResult> RunTool(std::vector<std::string> argv,
                                              const InstallContext& ctx);
// The same, but any exit status is a result: for tools whose output matters more.
[[nodiscard]] Expected<ProcessResult> RunToolAnyStatus(std::vector<std::string> argv,
                                                       const InstallContext& ctx);

// Splits option text (format-options) into words as a shell would, honouring quotes and
// backslashes but expanding nothing. Unbalanced quotes are kMalformed.
[[nodiscard]] Expected<std::vector<std::string>> SplitWords(std::string_view text);

// The last `max_bytes` of `text`, trimmed, for error messages.
[[nodiscard]] std::string Tail(std::string_view text, std::size_t max_bytes = 512);

}  // namespace uh::agent
