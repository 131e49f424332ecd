#pragma once

// An UpdateHub server in memory, behind the simulator's HttpClient interface: it offers one
// package to every device not yet running its version (unless the device reported an error),
// serves its objects with ranges, and records what each device sent. Answers are posted on the
// fleet's io_context, so the engine runs exactly as against a network, without one.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/fleet.hpp"
#include "sim_packages.hpp"

namespace uh::sim::testing {

class FakeUpdateServer {
 public:
  explicit FakeUpdateServer(TestPackage package) : package_(std::move(package)) {}

  // For Fleet::Create.
  [[nodiscard]] ClientFactory Factory();

  // Once it has answered `requests` requests, dies in the middle of the next object download it
  // serves (a reset after half the bytes), as a killed server would; every later request fails
  // as a refused connection.
  void DieInDownloadAfter(std::uint64_t requests) { die_after_ = requests; }
  // Goes down when the first report of `status` arrives: that report is refused (it never
  // reached the server), as every later request.
  void DieAtReport(std::string status) { die_at_report_ = std::move(status); }
  // Down from now on: every request fails as a refused connection.
  void GoDown() { down_ = true; }
  [[nodiscard]] bool down() const { return down_; }

  // Report statuses per serial, an error as "error(previous-state)".
  [[nodiscard]] const std::map<std::string, std::vector<std::string>>& reports() const {
    return reports_;
  }
  // The version each serial last probed with.
  [[nodiscard]] const std::map<std::string, std::string>& versions() const { return versions_; }
  [[nodiscard]] std::uint64_t probes() const { return probes_; }
  [[nodiscard]] std::uint64_t bytes_served() const { return bytes_served_; }
  // Requests that asked for a range ("Range: bytes=N-" with N > 0).
  [[nodiscard]] std::uint64_t range_requests() const { return range_requests_; }

  // Answers one request (public for the client; not for tests).
  void Answer(const HttpRequest& request, const HttpCallback& done);

 private:
  void Probe(const HttpRequest& request, const HttpCallback& done);
  void Report(const HttpRequest& request, const HttpCallback& done);
  void Object(const HttpRequest& request, const HttpCallback& done);

  TestPackage package_;
  std::map<std::string, std::vector<std::string>> reports_;
  std::map<std::string, std::string> versions_;
  std::map<std::string, bool> failed_;
  std::uint64_t probes_ = 0;
  std::uint64_t bytes_served_ = 0;
  std::uint64_t range_requests_ = 0;
  std::uint64_t answered_ = 0;
  std::optional<std::uint64_t> die_after_;
  std::optional<std::string> die_at_report_;
  bool down_ = false;
};

// For Fleet::Create with several servers: options.servers[i] is served by servers[i].
[[nodiscard]] ClientFactory FactoryOf(std::vector<FakeUpdateServer*> servers);

}  // namespace uh::sim::testing
