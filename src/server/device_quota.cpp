#include "server/device_quota.hpp"

#include <string>

namespace uh::server {
namespace {

// A quota of N per minute is a bucket of N tokens refilled evenly over the minute: a device may
// send its N at once, then one every 60/N seconds.
http::KeyedRateLimiter::Options PerMinute(unsigned per_minute, std::size_t max_keys) {
  return {.per_second = per_minute / 60.0,
          .burst = static_cast<double>(per_minute),
          .max_keys = max_keys};
}

// Products are few; their table needs no more room than this.
constexpr std::size_t kMaxTrackedProducts = 10000;

}  // namespace

DeviceQuota::DeviceQuota(DeviceQuotaOptions options, Clock clock)
    : clock_(std::move(clock)),
      reports_(PerMinute(options.reports_per_device_per_minute, options.max_tracked_devices)),
      new_devices_(PerMinute(options.new_devices_per_product_per_minute, kMaxTrackedProducts)) {}

std::chrono::nanoseconds DeviceQuota::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_().time_since_epoch());
}

std::optional<http::Response> DeviceQuota::TakeReport(std::string_view product,
                                                      std::string_view identity) {
  std::string key;
  key.reserve(product.size() + 1 + identity.size());
  key.append(product).append(1, '\n').append(identity);
  const auto wait = reports_.Take(key, Now());
  if (!wait) return std::nullopt;
  ++refused_reports_;
  return http::TooManyRequests(*wait, "this device is over its quota of reports per minute");
}

std::optional<http::Response> DeviceQuota::TakeNewDevice(std::string_view product) {
  const auto wait = new_devices_.Take(product, Now());
  if (!wait) return std::nullopt;
  ++refused_devices_;
  return http::TooManyRequests(*wait, "this product is over its quota of new devices per minute");
}

}  // namespace uh::server
