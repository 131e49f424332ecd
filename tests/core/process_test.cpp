#include "core/process.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.hpp"

namespace uh {
namespace {

using namespace std::chrono_literals;

ProcessOptions WithTimeout(std::chrono::milliseconds timeout) {
  ProcessOptions options;
  options.timeout = timeout;
  return options;
}

TEST(ProcessTest, CapturesOutputAndExitStatus) {
  auto result = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  EXPECT_FALSE(result->Succeeded());
  EXPECT_EQ(result->Describe(), "exited with status 3");
}

TEST(ProcessTest, ArgumentsAreNotReparsedByAShell) {
  auto result = RunProcess({"printf", "%s|", "a b", "$(echo no)", ";", "*"});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->out, "a b|$(echo no)|;|*|");
}

TEST(ProcessTest, MissingProgramIsNotFound) {
  auto result = RunProcess({"updatehub-no-such-program"});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kNotFound);
  auto absolute = RunProcess({"/nonexistent/program"});
  ASSERT_FALSE(absolute);
  EXPECT_EQ(absolute.error().code(), Errc::kNotFound);
}

TEST(ProcessTest, NonExecutableFileIsRefused) {
  testing::TempDir dir;
  testing::WriteFile(dir / "script", "#!/bin/sh\necho hi\n");
  auto result = RunProcess({(dir / "script").string()});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo);
}

TEST(ProcessTest, TimeoutStopsTheChild) {
  const auto start = std::chrono::steady_clock::now();
  auto result = RunProcess({"sleep", "30"}, WithTimeout(200ms));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ProcessTest, ChildIgnoringSigtermIsKilled) {
  const auto start = std::chrono::steady_clock::now();
  auto result =
      RunProcess({"sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"}, WithTimeout(200ms));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(ProcessTest, OutputBeyondTheLimitIsDropped) {
  ProcessOptions options;
  options.output_limit = 1000;
  auto result = RunProcess({"sh", "-c", "head -c 100000 /dev/zero"}, options);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->out.size(), 1000U);
  EXPECT_TRUE(result->truncated);
  EXPECT_EQ(result->exit_code, 0);
}

TEST(ProcessTest, EnvironmentWorkingDirectoryAndStdin) {
  testing::TempDir dir;
  ProcessOptions options;
  options.env = {{"UH_TEST_VALUE", "x=y z"}};
  options.cwd = dir.path();
  options.stdin_data = std::string(200000, 'a');
  auto result = RunProcess({"sh", "-c", "echo \"$UH_TEST_VALUE\"; pwd; wc -c"}, options);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->out,
            "x=y z\n" + std::filesystem::canonical(dir.path()).string() + "\n200000\n");
}

TEST(ProcessTest, SignalledChildIsReported) {
  auto result = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->signal, 9);
  EXPECT_EQ(result->exit_code, -1);
  EXPECT_EQ(result->Describe(), "killed by signal 9");
}

TEST(ProcessTest, FindProgramSearchesPath) {
  auto sh = FindProgram("sh");
  ASSERT_TRUE(sh) << sh.error().message();
  EXPECT_TRUE(std::filesystem::exists(*sh));
  EXPECT_FALSE(FindProgram(""));
}

}  // namespace
}  // namespace uh
