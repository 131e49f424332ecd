#pragma once

// The rules of rollouts as plain functions (no store, no clock of their own), so that each one
// is unit-tested: who is selected, which stage a device is in, maintenance windows, the failure
// threshold, stage success and completion.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "server/model/rollout.hpp"
#include "server/store/store.hpp"

namespace uh::server {

// Whether the device falls in the selection (explicit list, or all filter conditions).
[[nodiscard]] bool Selects(const Selection& selection, const Device& device);
// The stage of a device placed at `rank` in [0, 1) of the shuffled selection.
[[nodiscard]] int StageForRank(const std::vector<Stage>& stages, double rank);
[[nodiscard]] bool InWindow(const MaintenanceWindow& window,
                            std::chrono::system_clock::time_point now);
// Why the rollout must pause now, or nullopt.
[[nodiscard]] std::optional<std::string> ThresholdBreach(const FailureThreshold& threshold,
                                                         const RolloutStats& stats);
// Whether the current stage has reached its success share (of the devices in it and in the
// stages before it). A filter rollout with nobody there yet has not.
[[nodiscard]] bool StageSucceeded(const Rollout& rollout, const RolloutStats& stats);
// Whether every device is in a final state and the last stage is running.
// The last stage is reached and every device is updated or failed. A filter rollout with no
// device yet is not complete: devices that appear later join it.
[[nodiscard]] bool RolloutComplete(const Rollout& rollout, const RolloutStats& stats);
// The next time at or after `now` that the window opens.
[[nodiscard]] std::chrono::system_clock::time_point NextWindowOpening(
    const MaintenanceWindow& window, std::chrono::system_clock::time_point now);

// What HoldReason needs besides the rollout and its statistics.
struct HoldFacts {
  std::chrono::system_clock::time_point now;
  std::int64_t started_last_hour = 0;  // devices first offered the package in the last hour
};
// Why the rollout waits, in the words shown to operators (REST "hold_reason" and the
// dashboard), or nullopt when nothing holds it: a scheduled start, a pause (with its reason:
// who paused it and when, the failure threshold, a deleted key), no device selected yet, a
// closed maintenance window, the rate limit, a stage that has not reached its success share,
// soaks, or waits for "advance". Uses the same rules as the engine (StageSucceeded, InWindow).
[[nodiscard]] std::optional<std::string> HoldReason(const Rollout& rollout,
                                                    const RolloutStats& stats,
                                                    const HoldFacts& facts);

}  // namespace uh::server
