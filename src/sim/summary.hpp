#pragma once

// What a fleet run did: devices by outcome, request counts, bytes, errors and latencies, as a
// few lines for people or as JSON for scripts.

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/device.hpp"

namespace uh::sim {

// Request latencies in fixed memory: exact below 32 us, then 16 buckets per power of two
// (about 6% resolution), up to days.
class LatencyHistogram {
 public:
  void Record(std::chrono::microseconds value);
  void Merge(const LatencyHistogram& other);
  [[nodiscard]] std::uint64_t count() const { return count_; }
  // The smallest bucket value at or below which `fraction` of the samples fall; 0 when empty.
  [[nodiscard]] std::chrono::microseconds Percentile(double fraction) const;

 private:
  static constexpr std::size_t kBuckets = 32 + 48 * 16;
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

enum class EndReason { kGoal, kDuration, kTimeout, kStopped };
[[nodiscard]] std::string_view EndReasonName(EndReason reason);

struct Summary {
  // Devices by Outcome, each counted once: updated + updating + failed + unchanged == devices.
  std::uint32_t devices = 0;
  std::uint32_t updated = 0;           // run another version than at the start, and told the server
  std::uint32_t updating = 0;          // in the middle of an update when the run ended
  std::uint32_t failed = 0;            // their last update failed; they run their old version
  std::uint32_t unchanged = 0;         // none of these
  std::uint32_t failed_planned = 0;    // of the failed, those planned to fail (--failure-rate)
  std::uint32_t planned_failures = 0;  // devices planned to fail, whether they tried or not
  std::uint32_t at_goal = 0;           // run the --until-version version and told the server
  std::uint32_t with_errors = 0;       // devices that met at least one HTTP error

  std::uint64_t probes = 0;
  std::uint64_t probe_errors = 0;
  std::uint64_t offers = 0;  // probes answered with a package
  std::uint64_t reports = 0;
  std::uint64_t report_errors = 0;
  std::uint64_t downloads = 0;        // object requests
  std::uint64_t cuts = 0;             // downloads cut on purpose and resumed (--interrupt-rate)
  std::uint64_t download_errors = 0;  // transfers that failed or were refused
  std::uint64_t object_bytes = 0;     // object bytes taken (a cut reply counts up to the cut)
  std::uint64_t http_errors = 0;      // every request that failed or got an unusable answer
  std::uint64_t timeouts = 0;         // of which timed out
  std::uint64_t failovers = 0;        // devices moved to the next server (their own unreachable)
  double elapsed_seconds = 0;

  LatencyHistogram probe_latency;
  LatencyHistogram report_latency;
  LatencyHistogram download_latency;
  LatencyHistogram queue_wait;  // time requests waited for a free connection

  std::optional<std::string> goal_version;
  EndReason end = EndReason::kStopped;

  [[nodiscard]] double ProbesPerSecond() const;
  // --until-version reached: every device runs it or failed, and only planned failures failed.
  [[nodiscard]] bool GoalMet() const;
};

// Fills the device counts of `summary` from the final device states.
void CountDevices(const std::vector<DeviceState>& devices, std::uint16_t start_version,
                  std::optional<std::uint16_t> goal_version, Summary& summary);

[[nodiscard]] std::string FormatSummary(const Summary& summary);
[[nodiscard]] nlohmann::json SummaryJson(const Summary& summary);

}  // namespace uh::sim
