#include "server/last_seen.hpp"

#include <utility>
#include <vector>

namespace uh::server {

void LastSeenBatch::Record(std::int64_t device_id, std::string seen_at) {
  std::lock_guard lock(mutex_);
  auto& entry = pending_[device_id];
  if (entry < seen_at) entry = std::move(seen_at);
}

Expected<void> LastSeenBatch::Flush(Store& store) {
  std::unordered_map<std::int64_t, std::string> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(pending_);
  }
  if (taken.empty()) return {};
  std::vector<DeviceSeen> seen;
  seen.reserve(taken.size());
  for (auto& [id, time] : taken) seen.push_back({id, time});
  auto written = store.TouchDevices(seen);
  if (!written) {
    // Keep them for the next flush, unless a newer probe recorded a later time meanwhile.
    std::lock_guard lock(mutex_);
    for (auto& [id, time] : taken) {
      auto& entry = pending_[id];
      if (entry < time) entry = std::move(time);
    }
  }
  return written;
}

std::size_t LastSeenBatch::pending() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

}  // namespace uh::server
