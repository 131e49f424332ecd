#pragma once

// Every device probes every poll interval, and almost every probe changes nothing about the
// device but the time. Such probes record their time here instead of committing a write each;
// the server's ticker writes them all in one transaction (Flush). A crash loses at most one
// tick of last_seen times, never a change of version, hardware or attributes: those are written
// at once by the probe itself.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.hpp"
#include "server/store/store.hpp"

namespace uh::server {

class LastSeenBatch {
 public:
  void Record(std::int64_t device_id, std::string seen_at);
  // Writes what is pending. On failure the entries stay pending for the next flush.
  [[nodiscard]] Expected<void> Flush(Store& store);
  [[nodiscard]] std::size_t pending() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, std::string> pending_;
};

}  // namespace uh::server
