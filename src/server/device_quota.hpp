#pragma once

// Quotas on what devices may cost the server: reports per device and devices first seen per
// product, each per minute. A device over its quota, or a product taking in new devices faster
// than its quota, gets 429 with Retry-After and nothing is stored.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "server/http/http.hpp"
#include "server/http/rate_limit.hpp"

namespace uh::server {

struct DeviceQuotaOptions {
  unsigned reports_per_device_per_minute = 60;  // 0: no quota
  unsigned new_devices_per_product_per_minute = 1000;
  std::size_t max_tracked_devices = 100000;  // quota state kept for this many devices
};

class DeviceQuota {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit DeviceQuota(DeviceQuotaOptions options, Clock clock = std::chrono::system_clock::now);

  // The 429 answer when the device (its product and canonical identity) is over its report quota.
  [[nodiscard]] std::optional<http::Response> TakeReport(std::string_view product,
                                                         std::string_view identity);
  // The 429 answer when `product` has taken in its quota of new devices this minute.
  [[nodiscard]] std::optional<http::Response> TakeNewDevice(std::string_view product);

  [[nodiscard]] std::uint64_t refused_reports() const { return refused_reports_; }
  [[nodiscard]] std::uint64_t refused_devices() const { return refused_devices_; }

 private:
  [[nodiscard]] std::chrono::nanoseconds Now() const;

  Clock clock_;
  http::KeyedRateLimiter reports_;
  http::KeyedRateLimiter new_devices_;
  std::atomic<std::uint64_t> refused_reports_{0};
  std::atomic<std::uint64_t> refused_devices_{0};
};

}  // namespace uh::server
