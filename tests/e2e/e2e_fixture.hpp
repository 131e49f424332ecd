#pragma once

// The fixture of the end-to-end tests: a real updatehub-server child process (started in
// SetUp), and whatever a scenario adds: a fleet of simulated devices, a throttling proxy.
// TearDown prints what explains a failure (the server log, each device's story), powers the
// devices off and stops the server, and checks that everything stopped cleanly.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "e2e/fleet.hpp"
#include "e2e/package_builder.hpp"
#include "e2e/server_process.hpp"
#include "e2e/throttling_proxy.hpp"
#include "support/test_support.hpp"

namespace uh::e2e {

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The devices of this test, made with `common_args` (--server is added: the server's URL
  // unless given).
  Fleet& MakeFleet(std::vector<std::string> common_args, const std::string& server_url = "");
  // Waits until the server knows `count` devices of `product`.
  [[nodiscard]] bool WaitForDevices(const std::string& product, std::size_t count);
  // Waits until the rollout's state is `state`, or it pauses or ends otherwise, or a device
  // stops running; returns the rollout as last shown.
  [[nodiscard]] nlohmann::json WaitForRollout(std::int64_t id, const std::string& state,
                                              std::chrono::milliseconds limit);
  // The server's device ids by serial.
  [[nodiscard]] std::map<std::string, std::int64_t> DeviceIds(const std::string& product);
  // The statuses of a device's reports, oldest first.
  [[nodiscard]] std::vector<std::string> ReportStatuses(std::int64_t device_id);
  // Prints a step of the scenario with the time since the test began: where the time goes.
  void Step(const std::string& what) const;

  std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
  uh::testing::TempDir dir_;
  ServerProcess server_{dir_.path() / "server"};
  std::unique_ptr<ThrottlingProxy> proxy_;
  std::unique_ptr<Fleet> fleet_;
};

// A device's events.log without the times: "boot: slot 0, version 1.0", "reboot", ...
[[nodiscard]] std::vector<std::string> EventsOf(const SimulatedDevice& device);
[[nodiscard]] std::string Serial(const std::string& prefix, int i);

}  // namespace uh::e2e
