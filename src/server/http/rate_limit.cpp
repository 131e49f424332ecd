#include "server/http/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace uh::server::http {

std::optional<std::chrono::seconds> KeyedRateLimiter::Take(std::string_view key,
                                                           std::chrono::nanoseconds now) {
  if (options_.per_second <= 0) return std::nullopt;
  const double burst = std::max(1.0, options_.burst);
  const std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) MakeRoom(now);
    it = buckets_.emplace(std::string(key), Bucket{.tokens = burst, .updated = now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * options_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  const double wait = (1 - bucket.tokens) / options_.per_second;
  return std::chrono::seconds(std::max<std::int64_t>(1, std::llround(std::ceil(wait))));
}

std::size_t KeyedRateLimiter::size() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

void KeyedRateLimiter::MakeRoom(std::chrono::nanoseconds now) {
  const double burst = std::max(1.0, options_.burst);
  const auto before = buckets_.size();
  std::erase_if(buckets_, [&](const auto& entry) {
    const double elapsed = std::chrono::duration<double>(now - entry.second.updated).count();
    return entry.second.tokens + elapsed * options_.per_second >= burst;
  });
  // Freeing little would sweep the whole table again on the next new key: empty it instead, so
  // that the cost stays linear in the keys added.
  if (before - buckets_.size() < std::max<std::size_t>(1, options_.max_keys / 8)) buckets_.clear();
}

bool ConnectionsPerAddress::Open(const std::string& address) {
  const std::lock_guard lock(mutex_);
  std::size_t& count = open_[address];
  if (max_ != 0 && count >= max_) {
    if (count == 0) open_.erase(address);
    return false;
  }
  ++count;
  return true;
}

void ConnectionsPerAddress::Close(const std::string& address) {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ConnectionsPerAddress::Count(const std::string& address) const {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

Response TooManyRequests(std::chrono::seconds retry_after, std::string_view message) {
  Response response = Response::Error(429, message);
  response.SetHeader("Retry-After", std::to_string(retry_after.count()));
  return response;
}

}  // namespace uh::server::http
