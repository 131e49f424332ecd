#pragma once

// Rollouts: a package, a device selection and a plan. The model, shared by the store (which
// persists it) and the rollout engine (which applies the rules in server/rollout_rules.hpp).

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"

namespace uh::server {

enum class RolloutState { kScheduled, kRunning, kPaused, kFinished, kStopped };
[[nodiscard]] std::string_view RolloutStateName(RolloutState state);
[[nodiscard]] std::optional<RolloutState> ParseRolloutState(std::string_view name);
// Finished and stopped rollouts are archived: they no longer hold their devices. (The SQLite
// store lists the same states in UH_ARCHIVED_ROLLOUT_STATES, src/server/store/sqlite/queries.hpp.)
[[nodiscard]] inline bool IsArchived(RolloutState state) {
  return state == RolloutState::kFinished || state == RolloutState::kStopped;
}

// Per-device progress, derived from reports; updated and failed are final.
enum class DeviceState { kPending, kDownloading, kInstalling, kRebooting, kUpdated, kFailed };
inline constexpr int kDeviceStateCount = 6;
[[nodiscard]] std::string_view DeviceStateName(DeviceState state);
[[nodiscard]] std::optional<DeviceState> ParseDeviceState(std::string_view name);
// The state a report status moves a device to ("downloaded" is still downloading, ...).
[[nodiscard]] std::optional<DeviceState> StateForReport(std::string_view status);
[[nodiscard]] inline bool IsFinal(DeviceState state) {
  return state == DeviceState::kUpdated || state == DeviceState::kFailed;
}

struct Stage {
  double percent = 100;  // cumulative share of the selected devices, 0 < percent <= 100
  // The next stage starts when this share of this stage's devices is updated...
  double success_percent = 100;
  // ...and this long after that (soak time)...
  std::int64_t soak_seconds = 0;
  // ...unless it waits for an explicit "advance".
  bool manual = false;
};

struct Selection {
  std::vector<std::int64_t> device_ids;  // explicit list; empty: the filter
  std::vector<std::string> hardware;     // any of these; empty: any
  std::vector<std::string> versions;     // current version is one of these; empty: any
  nlohmann::json identity = nlohmann::json::object();    // key -> value that must be present
  nlohmann::json attributes = nlohmann::json::object();  // key -> value that must be present
};

struct FailureThreshold {
  std::optional<double> percent;      // pause when failed > percent% of attempted...
  std::optional<std::int64_t> count;  // ...or failed > count
  std::int64_t min_attempted = 1;     // percent applies from this many attempted devices
};

struct MaintenanceWindow {
  int start_minute = 0;  // UTC minutes since midnight
  int end_minute = 0;    // exclusive; smaller than start: the window crosses midnight
};

struct Rollout {
  std::int64_t id = 0;
  std::string product_uid;
  std::string package_uid;
  std::string name;
  RolloutState state = RolloutState::kScheduled;
  Selection selection;
  std::vector<Stage> stages;       // at least one; the last has percent 100
  std::int64_t rate_per_hour = 0;  // > 0: at most this many devices start per hour
  std::string start_at;            // RFC 3339; empty: at once
  std::optional<MaintenanceWindow> window;
  FailureThreshold threshold;
  int current_stage = 0;
  std::string stage_succeeded_at;  // when the current stage reached its success share
  std::string reason;              // why it paused or stopped
  std::string paused_by;           // the user who paused it; "" when the server did, or not paused
  std::string paused_at;           // when it was paused; "" while not paused
  std::string created_at;
  std::string started_at;
  std::string finished_at;
  // Counts the rollout's saved changes: a change is saved only over the revision it was made
  // from (Store::UpdateRolloutIfUnchanged), so that two servers never overwrite each other.
  std::int64_t revision = 0;
};

struct RolloutDevice {
  std::int64_t rollout_id = 0;
  std::int64_t device_id = 0;
  int stage = 0;
  DeviceState state = DeviceState::kPending;
  std::string error_message;
  std::string started_at;  // first offered ("" until then, and again after a retry)
  std::string updated_at;
  int retries = 0;  // new attempts given after it failed (POST /api/v1/rollouts/{id}/retry)
};

// Counts per stage and state.
struct RolloutStats {
  std::vector<std::array<std::int64_t, kDeviceStateCount>> stages;
  [[nodiscard]] std::int64_t Count(DeviceState state) const;
  [[nodiscard]] std::int64_t StageTotal(int stage) const;
  [[nodiscard]] std::int64_t Total() const;
  // Devices of stages 0 to `stage`, which together make that stage's cumulative share: all of
  // them, or those in `state`.
  [[nodiscard]] std::int64_t TotalThrough(int stage) const;
  [[nodiscard]] std::int64_t CountThrough(int stage, DeviceState state) const;
  // Devices that got further than pending.
  [[nodiscard]] std::int64_t Attempted() const;
};

// --- JSON (management API) ------------------------------------------------------------------

// Parses a rollout definition: {"package", "name", "devices" | "filter", "stages" |
// "rate_per_hour", "start_at", "maintenance_window": {"start": "HH:MM", "end": "HH:MM"},
// "failure_threshold"}.
[[nodiscard]] Expected<Rollout> RolloutFromJson(const nlohmann::json& body);
[[nodiscard]] nlohmann::json ToJson(const Rollout& rollout);
[[nodiscard]] nlohmann::json ToJson(const RolloutStats& stats);
// For the store: the parts kept as JSON text.
[[nodiscard]] nlohmann::json SelectionJson(const Selection& selection);
[[nodiscard]] Expected<Selection> SelectionFromJson(const nlohmann::json& value);
[[nodiscard]] nlohmann::json PlanJson(const Rollout& rollout);
[[nodiscard]] Expected<void> PlanFromJson(const nlohmann::json& value, Rollout& rollout);

}  // namespace uh::server
