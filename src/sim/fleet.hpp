#pragma once

// The fleet engine: N simulated devices on one io_context. Each device is a DeviceState driven
// by the DeviceModel; the engine turns the model's actions into timers (one Scheduler for all)
// and HTTP requests (an HttpClient per server, each a bounded connection pool), and the answers
// back into events. It counts everything for the summary and decides when the run ends.
//
// With several servers the engine plays a load balancer in front of them: device i starts on
// server i mod N; when a request fails at the connection level (IsConnectionFailure) the device
// moves on to the next server for good (a failover). A report that could not reach its server is
// sent on to the next one at once (up to every server once), since devices do not send a report
// again; a failed probe or download is the device's to retry, and its retry goes to the new
// server.

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "sim/device.hpp"
#include "sim/fleet_options.hpp"
#include "sim/http_client.hpp"
#include "sim/offer_book.hpp"
#include "sim/scheduler.hpp"
#include "sim/summary.hpp"

namespace uh::sim {

// Live counts, readable from any thread while the fleet runs.
struct FleetSnapshot {
  std::array<std::uint32_t, kPhaseCount> phases{};  // by Phase
  std::uint32_t probed = 0;   // devices whose probe was answered at least once
  std::uint32_t updated = 0;  // by Outcome, as in Summary
  std::uint32_t updating = 0;
  std::uint32_t failed = 0;
  std::uint32_t at_goal = 0;  // run --until-version and told the server so
  std::uint64_t probes = 0;
  std::uint64_t reports = 0;
  std::uint64_t object_bytes = 0;
  std::uint64_t http_errors = 0;
  std::uint64_t failovers = 0;
};

// Makes the client of one server (one of options.servers).
using ClientFactory = std::function<Expected<std::unique_ptr<HttpClient>>(
    boost::asio::io_context& io, const FleetOptions& options, const std::string& server)>;

class Fleet {
 public:
  // Checks the options. Without a factory the fleet talks HTTP through BeastHttpClients.
  [[nodiscard]] static Expected<std::unique_ptr<Fleet>> Create(FleetOptions options,
                                                               ClientFactory factory = {});
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Runs on the calling thread until the goal (--until-version), --duration, --timeout or
  // Stop(). Call once.
  [[nodiscard]] Summary Run();
  // Ends the run soon; any thread.
  void Stop();
  [[nodiscard]] FleetSnapshot Snapshot() const;

  // After Run: every device's final state, and the serial it announced.
  [[nodiscard]] const std::vector<DeviceState>& devices() const { return devices_; }
  [[nodiscard]] std::string Serial(std::uint32_t index) const;

 private:
  // The parts of a device's state that the live counts follow.
  struct Standing {
    Phase phase = Phase::kIdle;
    Outcome outcome = Outcome::kUnchanged;
    bool probed = false;
    bool at_goal = false;
  };

  explicit Fleet(FleetOptions options);
  [[nodiscard]] Standing StandingOf(const DeviceState& device) const;
  void Count(const Standing& standing, int sign);
  void Handle(std::uint32_t index, const Event& event);
  void Execute(std::uint32_t index, const Action& action);
  void SendProbe(std::uint32_t index);
  void OnProbeAnswered(std::uint32_t index, Expected<HttpResponse> answer);
  void SendReport(std::uint32_t index, const Report& report);
  void SendDownload(std::uint32_t index, const Download& download);
  // Sends through the device's server; on a connection failure moves the device on to the next
  // server and, for `resend` (reports), sends there too until every server was tried once.
  void Send(std::uint32_t index, HttpRequest request, HttpCallback done, bool resend,
            std::size_t tries = 0);
  [[nodiscard]] std::size_t Queued() const;
  [[nodiscard]] nlohmann::json DeviceFields(const DeviceState& device) const;
  void HttpError(DeviceState& device, const Error& error);
  void Finish(EndReason reason);
  void ArmProgress();
  void PrintProgress();

  FleetOptions options_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<HttpClient>> clients_;  // by server
  VersionTable versions_;
  std::unique_ptr<OfferBook> offers_;
  std::unique_ptr<DeviceModel> model_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<DeviceState> devices_;
  std::uint16_t start_version_ = 0;
  std::optional<std::uint16_t> goal_version_;

  boost::asio::steady_timer duration_timer_;
  boost::asio::steady_timer timeout_timer_;
  boost::asio::steady_timer progress_timer_;
  std::optional<boost::asio::signal_set> signals_;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point ended_{};
  bool finished_ = false;
  bool ran_ = false;
  std::uint32_t done_ = 0;  // devices at the goal (announced) or failed
  Summary summary_;         // counters and latencies; device counts are filled at the end

  // Live counts (written on the fleet's thread only).
  std::array<std::atomic<std::uint32_t>, kPhaseCount> phases_{};
  std::atomic<std::uint32_t> probed_{0}, updated_{0}, updating_{0}, failed_{0}, at_goal_{0};
  std::atomic<std::uint64_t> probes_{0}, reports_{0}, object_bytes_{0}, http_errors_{0},
      failovers_{0};
  std::uint64_t last_progress_probes_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace uh::sim
