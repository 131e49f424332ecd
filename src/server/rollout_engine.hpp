#pragma once

// Decides which package a probing device gets, and advances rollouts as devices report.

#include <cstdint>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "server/device_protocol.hpp"
#include "server/store/store.hpp"

namespace uh::server {

// What a probing device is told.
struct ProbeAnswer {
  std::shared_ptr<const Package> offer;  // the package to install now; null: no update
  // No offer yet, but a running rollout has selected the device: it waits for its stage, the
  // rate limit or the maintenance window, and may be asked to probe again soon.
  bool waiting = false;
};

// What the probe's one read of the store found besides the device (Store::LookupProbe).
struct ProbeState {
  std::int64_t catalog_version = 0;
  std::optional<RolloutDevice> membership;
};

class RolloutEngine {
 public:
  virtual ~RolloutEngine() = default;
  // Called on every probe, after the device's record is up to date.
  [[nodiscard]] virtual Expected<ProbeAnswer> OnProbe(const Device& device,
                                                      const ProbeState& state) = 0;
  // Called on every report, after it was stored.
  [[nodiscard]] virtual Expected<void> OnReport(const Device& device,
                                                const ReportRequest& report) = 0;
};

}  // namespace uh::server
