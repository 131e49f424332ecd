#include "server/rollout_rules.hpp"

#include <algorithm>
#include <ctime>

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

}  // namespace uh::server
