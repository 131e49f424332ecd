#pragma once

// The real `updatehub daemon` binary as a child process, for power-cut tests. It runs in a
// process group of its own, so that a power cut (SIGKILL to the whole group) takes down the
// agent and everything it was running at that instant: a state-change-callback, a slot command
// half way through rewriting the bootloader env, the reboot command. Its stdout and stderr are
// appended to one log file across restarts; the offset where the current run starts is kept,
// so that waits look at this run only.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_support.hpp"

namespace uh::agent::powercut {

class AgentProcess {
 public:
  // `env`: NAME=VALUE entries added to (or replacing those of) this process's environment.
  AgentProcess(std::filesystem::path binary, std::filesystem::path config,
               std::filesystem::path log, std::vector<std::string> env);
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Starts `updatehub daemon -c CONFIG -v debug`; false (and a message in error()) on failure.
  [[nodiscard]] bool Start();
  // SIGKILL to the process group, then reaps the agent. Nothing runs afterwards.
  void PowerCut();
  // SIGTERM to the agent only; true when it exits with status 0 within `limit`.
  [[nodiscard]] bool Stop(std::chrono::milliseconds limit);

  // Whether the agent is still alive (reaps it, and records how it ended, if not).
  [[nodiscard]] bool Running();
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& error() const { return error_; }

  // The whole log, all runs; and the part written by the current (or last) run.
  [[nodiscard]] std::string Log() const;
  [[nodiscard]] std::string RunLog() const;
  // Waits until the current run's log contains `text`; false on timeout or if the agent died.
  [[nodiscard]] bool WaitForLog(std::string_view text, std::chrono::milliseconds limit);
  // Bytes the agent and its children (its updatehub-worker) have written with write(2) and
  // friends so far (wchar of /proc/PID/io); nullopt when the agent's file cannot be read. It
  // drops when a child exits.
  [[nodiscard]] std::optional<std::uint64_t> WrittenBytes() const;

 private:
  std::filesystem::path binary_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  std::uintmax_t run_offset_ = 0;
  std::string error_;
};

// uh::testing::WaitUntil, polling every 2 ms by default.
[[nodiscard]] inline bool WaitUntil(const std::function<bool()>& condition,
                                    std::chrono::milliseconds limit,
                                    std::chrono::milliseconds step = std::chrono::milliseconds(2)) {
  return uh::testing::WaitUntil(condition, limit, step);
}

}  // namespace uh::agent::powercut
