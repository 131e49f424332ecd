#pragma once

// Helpers for the device tests: executable scripts in temporary directories, and running a
// program with extra environment variables.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/process.hpp"
#include "support/test_support.hpp"

namespace uh::agent::test {

// Writes "#!/bin/sh\n" + body to `path` and makes it executable.
inline void WriteScript(const std::filesystem::path& path, std::string_view body) {
  std::filesystem::create_directories(path.parent_path());
  uh::testing::WriteFile(path, "#!/bin/sh\n" + std::string(body));
  std::filesystem::permissions(path, std::filesystem::perms(0755));
}

// `dir` first, then the system's directories: how the tests put fake tools on PATH.
inline std::string PathWith(const std::filesystem::path& dir) {
  return dir.string() + ":/usr/local/bin:/usr/bin:/bin";
}

struct Ran {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs argv with `env` added to the environment; a program that cannot start fails the test.
inline Ran RunWithEnv(const std::vector<std::string>& argv,
                      std::vector<std::pair<std::string, std::string>> env) {
  ProcessOptions options;
  options.env = std::move(env);
  options.timeout = std::chrono::seconds(30);
  auto result = RunProcess(argv, options);
  if (!result) return Ran{.status = -1, .out = "", .err = result.error().message()};
  return Ran{.status = result->exit_code, .out = result->out, .err = result->err};
}

}  // namespace uh::agent::test
