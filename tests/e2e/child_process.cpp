#include "e2e/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "e2e/e2e_support.hpp"

namespace uh::e2e {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::filesystem::path log,
                           std::vector<std::string> env)
    : log_(std::move(log)) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);  // a group of its own: the child's pid
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);

  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  auto environment = uh::testing::MergedEnvironment(env);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const int rc =
      ::posix_spawn(&pid_, argv.at(0).c_str(), &actions, &attributes, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Terminate(Limit(15));
}

void ChildProcess::Reaped(int wstatus) {
  if (WIFEXITED(wstatus)) {
    ending_ = "exited with status " + std::to_string(WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    ending_ = std::string("killed by ") + ::strsignal(WTERMSIG(wstatus));
  } else {
    ending_ = "ended";
  }
  // Whatever it left running in its group goes too.
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  if (::waitpid(pid_, &wstatus, WNOHANG) != pid_) return true;
  Reaped(wstatus);
  return false;
}

std::string ChildProcess::Terminate(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return ending_;
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  const bool exited = WaitUntil([&] { return ::waitpid(pid_, &wstatus, WNOHANG) == pid_; }, limit,
                                std::chrono::milliseconds(20));
  if (exited) {
    Reaped(wstatus);
    return ending_;
  }
  const auto pid = pid_;
  Kill();
  ending_ = "did not stop within " + std::to_string(limit.count()) + " ms of SIGTERM (pid " +
            std::to_string(pid) + "): killed";
  return ending_;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  Reaped(wstatus);
}

}  // namespace uh::e2e
