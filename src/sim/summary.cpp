#include "sim/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace uh::sim {
namespace {

constexpr std::size_t kExact = 32;
constexpr unsigned kSubBits = 4;  // 16 buckets per power of two

std::size_t BucketOf(std::uint64_t value) {
  if (value < kExact) return static_cast<std::size_t>(value);
  const unsigned exponent = static_cast<unsigned>(std::bit_width(value)) - 1;  // >= 5
  const auto sub = static_cast<std::size_t>((value >> (exponent - kSubBits)) & 15);
  return kExact + (exponent - 5) * 16 + sub;
}

// The smallest value of a bucket.
std::uint64_t BucketFloor(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const std::size_t exponent = (bucket - kExact) / 16 + 5;
  const std::size_t sub = (bucket - kExact) % 16;
  return static_cast<std::uint64_t>(16 + sub) << (exponent - kSubBits);
}

double Millis(std::chrono::microseconds value) { return static_cast<double>(value.count()) / 1e3; }

nlohmann::json LatencyJson(const LatencyHistogram& histogram) {
  return {{"count", histogram.count()},
          {"p50_ms", Millis(histogram.Percentile(0.50))},
          {"p99_ms", Millis(histogram.Percentile(0.99))}};
}

std::string LatencyText(std::string_view name, const LatencyHistogram& histogram) {
  return fmt::format("{} {:.1f}/{:.1f}", name, Millis(histogram.Percentile(0.50)),
                     Millis(histogram.Percentile(0.99)));
}

}  // namespace

void LatencyHistogram::Record(std::chrono::microseconds value) {
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(value.count(), 0));
  counts_[std::min(BucketOf(micros), kBuckets - 1)] += 1;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
}

std::chrono::microseconds LatencyHistogram::Percentile(double fraction) const {
  if (count_ == 0) return std::chrono::microseconds(0);
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      return std::chrono::microseconds(static_cast<std::int64_t>(BucketFloor(i)));
    }
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(BucketFloor(kBuckets - 1)));
}

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kGoal:
      return "goal";
    case EndReason::kDuration:
      return "duration";
    case EndReason::kTimeout:
      return "timeout";
    case EndReason::kStopped:
      return "stopped";
  }
  return "?";
}

double Summary::ProbesPerSecond() const {
  return elapsed_seconds > 0 ? static_cast<double>(probes) / elapsed_seconds : 0.0;
}

bool Summary::GoalMet() const {
  return goal_version.has_value() && at_goal + failed == devices && failed == failed_planned;
}

void CountDevices(const std::vector<DeviceState>& devices, std::uint16_t start_version,
                  std::optional<std::uint16_t> goal_version, Summary& summary) {
  summary.devices = static_cast<std::uint32_t>(devices.size());
  summary.updated = summary.updating = summary.failed = summary.unchanged = 0;
  summary.failed_planned = summary.planned_failures = summary.at_goal = summary.with_errors = 0;
  for (const auto& device : devices) {
    const bool planned = device.planned != PlannedFailure::kNone;
    summary.planned_failures += planned ? 1 : 0;
    summary.with_errors += device.errors > 0 ? 1 : 0;
    if (goal_version && AtGoal(device, *goal_version)) ++summary.at_goal;
    switch (OutcomeOf(device, start_version)) {
      case Outcome::kUpdated:
        ++summary.updated;
        break;
      case Outcome::kUpdating:
        ++summary.updating;
        break;
      case Outcome::kFailed:
        ++summary.failed;
        summary.failed_planned += planned ? 1 : 0;
        break;
      case Outcome::kUnchanged:
        ++summary.unchanged;
        break;
    }
  }
}

std::string FormatSummary(const Summary& s) {
  std::string out;
  out += fmt::format(
      "devices {}: updated {}, failed {} ({} planned of {}), updating {}, unchanged {}\n",
      s.devices, s.updated, s.failed, s.failed_planned, s.planned_failures, s.updating,
      s.unchanged);
  out +=
      fmt::format("probes {} ({:.1f}/s, {} failed), offers {}, reports {} ({} failed)\n", s.probes,
                  s.ProbesPerSecond(), s.probe_errors, s.offers, s.reports, s.report_errors);
  out += fmt::format("object bytes {} in {} requests ({} cut and resumed, {} failed)\n",
                     s.object_bytes, s.downloads, s.cuts, s.download_errors);
  out += fmt::format("http errors {} ({} timeouts) on {} devices, {} failovers\n", s.http_errors,
                     s.timeouts, s.with_errors, s.failovers);
  out += "latency ms p50/p99: " + LatencyText("probe", s.probe_latency) + ", " +
         LatencyText("report", s.report_latency) + ", " +
         LatencyText("download", s.download_latency) + "; " +
         LatencyText("queue wait", s.queue_wait) + "\n";
  out += fmt::format("elapsed {:.1f} s, ended by {}", s.elapsed_seconds, EndReasonName(s.end));
  if (s.goal_version) {
    out += fmt::format("; {} of {} at {}: goal {}", s.at_goal, s.devices, *s.goal_version,
                       s.GoalMet() ? "met" : "NOT met");
  }
  out += "\n";
  return out;
}

nlohmann::json SummaryJson(const Summary& s) {
  nlohmann::json out = {
      {"devices", s.devices},
      {"updated", s.updated},
      {"failed", s.failed},
      {"failed_planned", s.failed_planned},
      {"planned_failures", s.planned_failures},
      {"updating", s.updating},
      {"unchanged", s.unchanged},
      {"probes", s.probes},
      {"probe_errors", s.probe_errors},
      {"probes_per_second", s.ProbesPerSecond()},
      {"offers", s.offers},
      {"reports", s.reports},
      {"report_errors", s.report_errors},
      {"downloads", s.downloads},
      {"cuts", s.cuts},
      {"download_errors", s.download_errors},
      {"object_bytes", s.object_bytes},
      {"http_errors", s.http_errors},
      {"timeouts", s.timeouts},
      {"failovers", s.failovers},
      {"devices_with_errors", s.with_errors},
      {"elapsed_seconds", s.elapsed_seconds},
      {"latency",
       {{"probe", LatencyJson(s.probe_latency)},
        {"report", LatencyJson(s.report_latency)},
        {"download", LatencyJson(s.download_latency)},
        {"queue_wait", LatencyJson(s.queue_wait)}}},
      {"end", EndReasonName(s.end)},
  };
  if (s.goal_version) {
    out["goal"] = {{"version", *s.goal_version}, {"at_goal", s.at_goal}, {"met", s.GoalMet()}};
  }
  return out;
}

}  // namespace uh::sim
