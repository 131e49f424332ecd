#include "agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_support.hpp"

namespace uh::agent::powercut {
namespace {

std::string ReadFrom(const std::filesystem::path& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Describe(int wstatus) {
  if (WIFEXITED(wstatus)) return "exited with status " + std::to_string(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return std::string("killed by ") + ::strsignal(WTERMSIG(wstatus));
  return "stopped";
}

}  // namespace

AgentProcess::AgentProcess(std::filesystem::path binary, std::filesystem::path config,
                           std::filesystem::path log, std::vector<std::string> env)
    : binary_(std::move(binary)),
      config_(std::move(config)),
      log_(std::move(log)),
      env_(std::move(env)) {}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) PowerCut();
}

bool AgentProcess::Start() {
  if (pid_ > 0) {
    error_ = "the agent is already running";
    return false;
  }
  std::error_code ec;
  run_offset_ = std::filesystem::exists(log_, ec) ? std::filesystem::file_size(log_, ec) : 0;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);  // a group of its own: the agent's pid

  std::vector<std::string> argv = {binary_.string(), "daemon", "-c",
                                   config_.string(), "-v",     "debug"};
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  auto environment = uh::testing::MergedEnvironment(env_);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const int rc =
      ::posix_spawn(&pid_, binary_.c_str(), &actions, &attributes, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    pid_ = -1;
    error_ = "cannot start " + binary_.string() + ": " + std::strerror(rc);
    return false;
  }
  return true;
}

void AgentProcess::PowerCut() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  // Children that were not in the group (none are expected) would be left; the group is gone.
}

bool AgentProcess::Stop(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return false;
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  const bool exited = WaitUntil([&] { return ::waitpid(pid_, &wstatus, WNOHANG) == pid_; }, limit,
                                std::chrono::milliseconds(10));
  if (!exited) {
    error_ = "the agent did not stop within " + std::to_string(limit.count()) + " ms of SIGTERM";
    PowerCut();
    return false;
  }
  pid_ = -1;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    error_ = "after SIGTERM the agent " + Describe(wstatus);
    return false;
  }
  return true;
}

bool AgentProcess::Running() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  if (::waitpid(pid_, &wstatus, WNOHANG) != pid_) return true;
  error_ = "the agent " + Describe(wstatus);
  // Whatever it left running in its group goes too.
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
  return false;
}

std::string AgentProcess::Log() const { return ReadFrom(log_, 0); }

std::string AgentProcess::RunLog() const { return ReadFrom(log_, run_offset_); }

bool AgentProcess::WaitForLog(std::string_view text, std::chrono::milliseconds limit) {
  return WaitUntil(
             [&] {
               // Checked before Running(): an agent that wrote the line and then died still wrote
               // it.
               if (RunLog().find(text) != std::string::npos) return true;
               return !Running();
             },
             limit) &&
         RunLog().find(text) != std::string::npos;
}

std::optional<std::uint64_t> AgentProcess::WrittenBytes() const {
  if (pid_ <= 0) return std::nullopt;
  const auto written = [](int pid) -> std::optional<std::uint64_t> {
    // The worker may exit while it is read.
    std::istringstream in(uh::testing::ReadVolatileFile("/proc/" + std::to_string(pid) + "/io"));
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
      if (key == "wchar:") return value;
    }
    return std::nullopt;
  };
  auto total = written(pid_);
  if (!total) return std::nullopt;
  // The update's writing is done by the agent's updatehub-worker.
  for (const int child : uh::testing::ChildProcesses(pid_)) *total += written(child).value_or(0);
  return total;
}

}  // namespace uh::agent::powercut
