#pragma once

// Decides which package a probing device gets, and advances rollouts as devices report.

#include <optional>

#include "core/error.hpp"
#include "server/device_protocol.hpp"
#include "server/store/store.hpp"

namespace uh::server {

class RolloutEngine {
 public:
  virtual ~RolloutEngine() = default;
  // Called on every probe, after the device's record is up to date. The package the device
  // should install now, or nullopt (the device is told there is no update).
  [[nodiscard]] virtual Expected<std::optional<Package>> OnProbe(const Device& device) = 0;
  // Called on every report, after it was stored.
  [[nodiscard]] virtual Expected<void> OnReport(const Device& device,
                                                const ReportRequest& report) = 0;
};

}  // namespace uh::server
