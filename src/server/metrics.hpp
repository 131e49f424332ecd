#pragma once

// The counters behind /metrics and their Prometheus text. Recording is atomics only (no lock,
// no allocation): HTTP requests per route pattern, method and status with their latency; probe
// outcomes; reports per status. Fleet gauges are counted by the database when /metrics is
// read (ReadFleetGauges); the store's latencies are kept by its pools (store_metrics.hpp).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http.hpp"
#include "server/model/rollout.hpp"
#include "server/store/store.hpp"
#include "server/store/store_metrics.hpp"

namespace uh::server {

class DeviceQuota;

enum class ProbeOutcome {
  kOffered,  // a package
  kNothing,  // no update
  kWaiting,  // "ask again later" (the device's rollout has not reached it yet)
  kRefused,  // malformed, unknown product, credentials, quota
  kError,    // the server failed (the store)
};
inline constexpr std::size_t kProbeOutcomeCount = 5;
[[nodiscard]] std::string_view ProbeOutcomeName(ProbeOutcome outcome);

// Requests of one route (or of none) and one method: latency and counts per status.
class RequestSeries {
 public:
  void Record(int status, std::chrono::steady_clock::duration elapsed) noexcept;

  struct StatusCount {
    int status = 0;  // 0: statuses past the table's size ("other")
    std::uint64_t count = 0;
  };
  [[nodiscard]] std::vector<StatusCount> Statuses() const;
  [[nodiscard]] const LatencyHistogram& latency() const { return latency_; }

 private:
  // Distinct statuses one route answers with; slots are claimed by compare-and-swap.
  static constexpr std::size_t kStatusSlots = 12;
  struct Slot {
    std::atomic<int> status{0};  // 0: free
    std::atomic<std::uint64_t> count{0};
  };
  LatencyHistogram latency_;
  std::array<Slot, kStatusSlots> slots_{};
  std::atomic<std::uint64_t> other_{0};
};

// One RequestSeries per (route, method), plus per method for requests no route took.
class HttpMetrics {
 public:
  // The label set is fixed here: call once, with the finished router, before serving.
  void RegisterRoutes(const http::Router& router);
  // `elapsed`: from when the request's head was read to when its answer was sent.
  void Record(const http::Request& request, int status,
              std::chrono::steady_clock::duration elapsed) noexcept;

  static constexpr std::string_view kUnmatched = "unmatched";
  // Label values of each series' route: its pattern, or kUnmatched (the last).
  [[nodiscard]] const std::vector<std::string>& routes() const { return routes_; }
  [[nodiscard]] const RequestSeries& Series(std::size_t route, http::Method method) const;

 private:
  std::vector<std::string> routes_{std::string(kUnmatched)};
  std::unique_ptr<RequestSeries[]> series_ = std::make_unique<RequestSeries[]>(http::kMethodCount);
};

// What agents report (protocol/bodies.hpp); other values count as "other".
inline constexpr std::array<std::string_view, 7> kReportStatuses = {
    "downloading", "downloaded", "installing", "installed", "rebooting", "updated", "error"};

// What updatehub_build_info says: set once, before serving.
struct BuildInfo {
  std::string version = "unknown";  // the release (updatehub-server --version)
  std::string store = "sqlite";     // the backend in use: "sqlite" or "postgresql"
};

struct Metrics {
  BuildInfo build;
  HttpMetrics http;
  std::array<std::atomic<std::uint64_t>, kProbeOutcomeCount> probes{};
  // Per agent report status (kReportStatuses), then "other".
  std::array<std::atomic<std::uint64_t>, kReportStatuses.size() + 1> reports{};
  std::atomic<std::uint64_t> download_bytes{0};
  std::atomic<std::uint64_t> packages_uploaded{0};
  // Refused by the per-address limits of the HTTP server.
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> refused_requests{0};
  // 1 while this server holds the lease of the rollouts' timed work (one server at a time).
  std::atomic<int> timed_work_leader{0};

  void CountProbe(ProbeOutcome outcome) noexcept;
  void CountReport(std::string_view status) noexcept;
};

inline constexpr std::array kRolloutStates = {RolloutState::kScheduled, RolloutState::kRunning,
                                              RolloutState::kPaused, RolloutState::kFinished,
                                              RolloutState::kStopped};

// The fleet as /metrics shows it, counted by the database: per product.
struct ProductGauges {
  std::string product_uid;
  std::array<std::int64_t, kRolloutStates.size()> rollouts{};  // per kRolloutStates
  std::int64_t devices = 0;
  std::int64_t overdue = 0;  // not seen for ServerConfig::kOverduePolls poll intervals
  GroupCounts devices_by_rollout_state{};
};

// One query per product for its devices: products are few.
[[nodiscard]] Expected<std::vector<ProductGauges>> ReadFleetGauges(
    Store& store, std::chrono::seconds overdue_after);

// The whole /metrics page, in the Prometheus text format 0.0.4.
[[nodiscard]] std::string MetricsText(const Metrics& metrics, const DeviceQuota& quota,
                                      const std::vector<ProductGauges>& fleet);

// A label value escaped for the text format (backslash, double quote, newline).
[[nodiscard]] std::string EscapeLabelValue(std::string_view value);

}  // namespace uh::server
