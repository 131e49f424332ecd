#include "core/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

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

// The helper under RunProcess and the agent's worker: pipes both ways, a program that exits
// by itself within the grace, one that does not is killed, and none is left behind.
TEST(ChildProcessTest, TalksOverPipesAndStopsWithGrace) {
  SpawnOptions options;
  options.pipe_stdin = true;
  auto child = ChildProcess::Spawn({"sh", "-c", "read line; echo \"got $line\"; exit 3"}, options);
  ASSERT_TRUE(child) << child.error().message();
  ASSERT_EQ(::write(child->in().get(), "hi\n", 3), 3);
  std::string out(64, '\0');
  const ssize_t n = ::read(child->out().get(), out.data(), out.size());
  ASSERT_GT(n, 0);
  out.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(out, "got hi\n");
  const int status = child->Stop(5s);
  EXPECT_EQ(DescribeWaitStatus(status), "exited with status 3");
  EXPECT_FALSE(child->running());

  auto stubborn = ChildProcess::Spawn({"sh", "-c", "trap '' TERM; sleep 30"});
  ASSERT_TRUE(stubborn);
  const int pid = stubborn->pid();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(DescribeWaitStatus(stubborn->Stop(100ms)), "killed by signal 9");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(::kill(pid, 0), 0) << "reaped";
}

// A descriptor of ours without close-on-exec (a listening socket opened by a library) does not
// reach the program: it would keep the port taken after we are gone.
TEST(ChildProcessTest, TheChildInheritsNoDescriptorButItsStandardOnes) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // no O_CLOEXEC
  const std::string check =
      "test -e /proc/self/fd/" + std::to_string(fds[0]) + " && echo leaked || echo clean";
  auto result = RunProcess({"sh", "-c", check});
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->out, "clean\n");
}

TEST(ChildProcessTest, DroppingTheHandleKillsAndReapsTheChild) {
  int pid = 0;
  {
    auto child = ChildProcess::Spawn({"sleep", "30"});
    ASSERT_TRUE(child);
    pid = child->pid();
    EXPECT_FALSE(child->TryWait().has_value());
  }
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(ChildProcessTest, AProgramThatCannotStartIsAnError) {
  SpawnOptions options;
  options.program = "/nonexistent/updatehub-worker";
  auto missing = ChildProcess::Spawn({"updatehub-worker"}, options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/updatehub-worker"), std::string::npos);

  uh::testing::TempDir dir;
  options.program = dir / "not-executable";
  uh::testing::WriteFile(options.program, "#!/bin/sh\n");
  auto refused = ChildProcess::Spawn({"x"}, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::kIo);
  options.cwd = dir / "missing-dir";
  options.program = "/bin/true";
  auto no_dir = ChildProcess::Spawn({"true"}, options);
  ASSERT_FALSE(no_dir);
  EXPECT_NE(no_dir.error().message().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace uh
