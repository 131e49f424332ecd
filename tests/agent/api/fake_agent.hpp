#pragma once

// An AgentControl whose answers the test sets, recording what it was asked.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/api/agent_control.hpp"

namespace uh::agent::api_test {

class FakeAgent final : public AgentControl {
 public:
  nlohmann::json Info() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("info");
    if (throw_on_info) throw std::runtime_error("info exploded");
    return info;
  }

  ProbeOutcome RequestProbe(std::optional<std::string> custom_server) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("probe " + custom_server.value_or("-"));
    }
    if (during_probe) during_probe();  // a probe takes its time
    std::lock_guard lock(mutex_);
    return probe;
  }

  InstallOutcome RequestLocalInstall(std::filesystem::path file) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("local_install " + file.string());
    }
    if (during_install) during_install();  // the daemon at work, e.g. logging its states
    std::lock_guard lock(mutex_);
    return install;
  }

  InstallOutcome RequestRemoteInstall(std::string url) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("remote_install " + url);
    }
    if (during_install) during_install();
    std::lock_guard lock(mutex_);
    return install;
  }

  bool AbortDownload() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("abort");
    return abort_result;
  }

  [[nodiscard]] std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  // What the fake answers; set before the requests are sent.
  nlohmann::json info = {{"state", "park"}, {"version", "2.1.6"}};
  ProbeOutcome probe = ProbeOutcome::NoUpdate();
  InstallOutcome install = InstallOutcome::Accepted("park");
  bool abort_result = true;
  bool throw_on_info = false;
  std::function<void()> during_probe;
  std::function<void()> during_install;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
};

}  // namespace uh::agent::api_test
