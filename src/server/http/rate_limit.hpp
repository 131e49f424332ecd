#pragma once

// Limits per client: a token bucket per key (a client address, a device, a product) in a table
// of bounded size, and the count of open connections per address. Both are thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/http/http.hpp"

namespace uh::server::http {

// Token buckets by key: each key may spend `burst` at once, refilled at `per_second`. Keys whose
// bucket is full again hold no information and are dropped when the table is full; should the
// table still be full of busy keys, it is emptied (every key starts afresh: the limits fail open
// rather than refuse clients they cannot tell apart).
class KeyedRateLimiter {
 public:
  struct Options {
    double per_second = 0;  // 0: no limit
    double burst = 1;
    std::size_t max_keys = 65536;
  };
  explicit KeyedRateLimiter(Options options) : options_(options) {}

  // Takes one token from `key`'s bucket at `now` (any fixed epoch, increasing): nullopt when
  // there was one, else how long until there is (at least a second, for Retry-After).
  [[nodiscard]] std::optional<std::chrono::seconds> Take(std::string_view key,
                                                         std::chrono::nanoseconds now);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::nanoseconds updated{0};
  };
  void MakeRoom(std::chrono::nanoseconds now);

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Open connections per client address. An address has an entry only while it has connections,
// so the table is bounded by the server's max_connections.
class ConnectionsPerAddress {
 public:
  explicit ConnectionsPerAddress(std::size_t max_per_address) : max_(max_per_address) {}
  // Counts one more connection of `address`; false (and nothing counted) when it has the maximum
  // already. 0 as the maximum: no limit.
  [[nodiscard]] bool Open(const std::string& address);
  void Close(const std::string& address);
  [[nodiscard]] std::size_t Count(const std::string& address) const;

 private:
  std::size_t max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;
};

// 429 with Retry-After and {"error": message}.
[[nodiscard]] Response TooManyRequests(std::chrono::seconds retry_after, std::string_view message);

}  // namespace uh::server::http
