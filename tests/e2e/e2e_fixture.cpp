#include "e2e/e2e_fixture.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace uh::e2e {

using nlohmann::json;

void E2eTest::SetUp() {
  // The boot simulator runs the agent of this build (the ASan one in the asan build).
  ::setenv("UPDATEHUB_AGENT", AgentBinary().c_str(), 1);
  server_.Start();
  Step("server listening on port " + std::to_string(server_.port()));
}

void E2eTest::TearDown() {
  if (HasFailure()) {
    std::cout << "==== server log (last 40 lines): " << server_.log() << "\n"
              << Tail(server_.log(), 40) << "\n";
    if (fleet_) std::cout << "==== devices\n" << fleet_->Diagnostics();
  }
  Step("stopping");
  if (fleet_) {
    EXPECT_EQ(fleet_->PowerOffAll(), "") << "devices that did not power off cleanly";
    for (auto& device : *fleet_) {
      // The boot simulator notes an agent that ended badly (a crash, a sanitizer report, a
      // stop that needed SIGKILL).
      const auto events = device->Events();
      EXPECT_EQ(CountLines(events, "agent exited with status"), 0u) << device->Diagnostics(40);
      EXPECT_EQ(CountLines(events, "agent stopped with status"), 0u) << device->Diagnostics(40);
      EXPECT_EQ(CountLines(events, "agent did not stop"), 0u) << device->Diagnostics(40);
    }
    fleet_.reset();
  }
  proxy_.reset();
  if (server_.Running()) {
    EXPECT_EQ(server_.Stop(), "exited with status 0") << Tail(server_.log(), 40);
  }
  Step("stopped");
}

Fleet& E2eTest::MakeFleet(std::vector<std::string> common_args, const std::string& server_url) {
  common_args.insert(common_args.begin(),
                     {"--server", server_url.empty() ? server_.Url() : server_url});
  fleet_ = std::make_unique<Fleet>(dir_ / "devices", std::move(common_args));
  return *fleet_;
}

bool E2eTest::WaitForDevices(const std::string& product, std::size_t count) {
  return WaitUntil([&] { return server_.Devices(product).size() >= count; }, Limit(30));
}

json E2eTest::WaitForRollout(std::int64_t id, const std::string& state,
                             std::chrono::milliseconds limit) {
  json shown;
  std::string dead;
  (void)WaitUntil(
      [&] {
        shown = server_.Rollout(id);
        const auto now = shown.value("state", std::string());
        if (now == state || now == "paused" || now == "finished" || now == "stopped") return true;
        dead = fleet_ ? fleet_->Dead() : "";
        return !dead.empty();
      },
      limit, std::chrono::milliseconds(250));
  if (!dead.empty()) ADD_FAILURE() << "devices stopped while the rollout ran:\n" << dead;
  return shown;
}

std::map<std::string, std::int64_t> E2eTest::DeviceIds(const std::string& product) {
  std::map<std::string, std::int64_t> ids;
  for (const auto& device : server_.Devices(product)) {
    const auto& identity = device["identity"];
    if (identity.is_object() && identity.contains("serial") && identity["serial"].is_string()) {
      ids[identity["serial"].get<std::string>()] = device["id"].get<std::int64_t>();
    }
  }
  return ids;
}

std::vector<std::string> E2eTest::ReportStatuses(std::int64_t device_id) {
  std::vector<std::string> statuses;
  for (const auto& report : server_.Reports("device=" + std::to_string(device_id))) {
    statuses.push_back(report.value("status", std::string()));
  }
  return statuses;
}

void E2eTest::Step(const std::string& what) const {
  const std::chrono::duration<double> since = std::chrono::steady_clock::now() - began_;
  std::printf("[e2e %6.1f s] %s\n", since.count(), what.c_str());
  std::fflush(stdout);
}

std::vector<std::string> EventsOf(const SimulatedDevice& device) {
  std::vector<std::string> events;
  std::istringstream lines(device.Events());
  std::string line;
  while (std::getline(lines, line)) {
    // "2026-01-31T02:00:00Z boot: slot 0, version 1.0"
    const auto space = line.find(' ');
    events.push_back(space == std::string::npos ? line : line.substr(space + 1));
  }
  return events;
}

std::string Serial(const std::string& prefix, int i) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s-%03d", prefix.c_str(), i);
  return buffer;
}

}  // namespace uh::e2e
