#include "server/rollout_rules.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/time.hpp"

namespace uh::server {
namespace {

using nlohmann::json;

// Whether `required` (key -> value) is present in a device's identity or attributes JSON, where
// the device may hold several values for a key.
bool Contains(const std::string& device_json, const json& required) {
  if (required.empty()) return true;
  const json values = json::parse(device_json, nullptr, false);
  if (!values.is_object()) return false;
  for (const auto& [key, wanted] : required.items()) {
    if (!values.contains(key)) return false;
    const json& have = values[key];
    const bool match = have.is_array() ? std::find(have.begin(), have.end(), wanted) != have.end()
                                       : have == wanted;
    if (!match) return false;
  }
  return true;
}

}  // namespace

bool Selects(const Selection& selection, const Device& device) {
  if (!selection.device_ids.empty()) {
    return std::find(selection.device_ids.begin(), selection.device_ids.end(), device.id) !=
           selection.device_ids.end();
  }
  auto listed = [](const std::vector<std::string>& list, const std::string& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  return listed(selection.hardware, device.hardware) &&
         listed(selection.versions, device.version) &&
         Contains(device.identity, selection.identity) &&
         Contains(device.attributes, selection.attributes);
}

int StageForRank(const std::vector<Stage>& stages, double rank) {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (rank * 100 < stages[i].percent) return static_cast<int>(i);
  }
  return stages.empty() ? 0 : static_cast<int>(stages.size()) - 1;
}

bool InWindow(const MaintenanceWindow& window, std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int minute = tm.tm_hour * 60 + tm.tm_min;
  if (window.start_minute < window.end_minute) {
    return minute >= window.start_minute && minute < window.end_minute;
  }
  return minute >= window.start_minute || minute < window.end_minute;
}

std::optional<std::string> ThresholdBreach(const FailureThreshold& threshold,
                                           const RolloutStats& stats) {
  const std::int64_t failed = stats.Count(DeviceState::kFailed);
  const std::int64_t attempted = stats.Attempted();
  if (threshold.count && failed > *threshold.count) {
    return std::to_string(failed) + " devices failed, more than the threshold of " +
           std::to_string(*threshold.count);
  }
  if (threshold.percent && attempted >= threshold.min_attempted && attempted > 0) {
    const double share = 100.0 * static_cast<double>(failed) / static_cast<double>(attempted);
    if (share > *threshold.percent) {
      char buffer[160];
      std::snprintf(buffer, sizeof buffer,
                    "%lld of %lld attempted devices failed (%.1f%%), more than the threshold of "
                    "%.1f%%",
                    static_cast<long long>(failed), static_cast<long long>(attempted), share,
                    *threshold.percent);
      return std::string(buffer);
    }
  }
  return std::nullopt;
}

bool StageSucceeded(const Rollout& rollout, const RolloutStats& stats) {
  const int stage = rollout.current_stage;
  // Devices of this and earlier stages count: together they are the stage's cumulative share.
  const std::int64_t total = stats.TotalThrough(stage);
  const std::int64_t updated = stats.CountThrough(stage, DeviceState::kUpdated);
  // Nobody so far: a device list that matched nobody has nothing to wait for; a filter waits
  // for devices to join (Start and Join always put the first one in a stage reached).
  if (total == 0) return !rollout.selection.device_ids.empty();
  const double share = 100.0 * static_cast<double>(updated) / static_cast<double>(total);
  return share >= rollout.stages[static_cast<std::size_t>(stage)].success_percent;
}

bool RolloutComplete(const Rollout& rollout, const RolloutStats& stats) {
  if (rollout.current_stage + 1 < static_cast<int>(rollout.stages.size())) return false;
  // A filter rollout with no device yet waits for devices to appear and join it; an explicit
  // list that matched nothing never will.
  if (stats.Total() == 0) return !rollout.selection.device_ids.empty();
  return stats.Count(DeviceState::kUpdated) + stats.Count(DeviceState::kFailed) == stats.Total();
}

std::chrono::system_clock::time_point NextWindowOpening(const MaintenanceWindow& window,
                                                        std::chrono::system_clock::time_point now) {
  using std::chrono::minutes;
  const auto midnight = std::chrono::floor<std::chrono::days>(now);
  const auto today = midnight + minutes(window.start_minute);
  return today >= now ? today : today + std::chrono::days(1);
}

std::optional<std::string> HoldReason(const Rollout& rollout, const RolloutStats& stats,
                                      const HoldFacts& facts) {
  const int stage = rollout.current_stage;
  const int stage_count = static_cast<int>(rollout.stages.size());
  const std::string stage_name =
      "stage " + std::to_string(stage + 1) + " of " + std::to_string(stage_count);
  switch (rollout.state) {
    case RolloutState::kFinished:
    case RolloutState::kStopped:
      return std::nullopt;
    case RolloutState::kScheduled:
      if (!rollout.reason.empty()) return "not started: " + rollout.reason;
      if (rollout.start_at.empty()) return "scheduled: waiting for a start action";
      return "scheduled start at " + rollout.start_at;
    case RolloutState::kPaused:
      return rollout.reason.empty() ? std::string("paused") : "paused: " + rollout.reason;
    case RolloutState::kRunning:
      break;
  }
  if (stats.Total() == 0) {
    if (!rollout.selection.device_ids.empty()) return std::nullopt;
    return std::string(
        "waiting for devices: none of the product's devices matches the "
        "selection yet (devices join at their next probe)");
  }
  // Devices of the stages reached that have not been offered the package: what the window and
  // the rate limit hold back.
  const bool waiting_devices = stats.CountThrough(stage, DeviceState::kPending) > 0;
  if (waiting_devices && rollout.window && !InWindow(*rollout.window, facts.now)) {
    return "maintenance window opens at " +
           FormatTime(NextWindowOpening(*rollout.window, facts.now));
  }
  if (waiting_devices && rollout.rate_per_hour > 0 &&
      facts.started_last_hour >= rollout.rate_per_hour) {
    return "rate limit: " + std::to_string(facts.started_last_hour) +
           " devices started in the last hour, at most " + std::to_string(rollout.rate_per_hour) +
           " per hour";
  }
  if (stage + 1 >= stage_count) return std::nullopt;
  const Stage& plan = rollout.stages[static_cast<std::size_t>(stage)];
  if (!StageSucceeded(rollout, stats)) {
    const std::int64_t total = stats.TotalThrough(stage);
    const std::int64_t updated = stats.CountThrough(stage, DeviceState::kUpdated);
    const auto needed = static_cast<std::int64_t>(
        std::ceil(plan.success_percent * static_cast<double>(total) / 100.0 - 1e-9));
    char percent[32];
    std::snprintf(percent, sizeof percent, "%g%%", plan.success_percent);
    return stage_name + ": success share not reached (" + std::to_string(updated) + " of " +
           std::to_string(total) + " devices updated, " + std::to_string(needed) + " needed for " +
           percent + ")";
  }
  if (plan.manual) return stage_name + " succeeded and waits for an \"advance\"";
  const auto succeeded = ParseTime(rollout.stage_succeeded_at);
  if (!succeeded) return std::nullopt;  // recorded at the engine's next evaluation
  const auto until = *succeeded + std::chrono::seconds(plan.soak_seconds);
  if (until <= facts.now) return std::nullopt;
  return stage_name + " soaks until " + FormatTime(until);
}

}  // namespace uh::server
