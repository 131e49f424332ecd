#include "core/background_hash.hpp"

#include <utility>

namespace uh {

BackgroundSha256::BackgroundSha256(Sha256 start)
    : hasher_(std::move(start)), worker_([this] { Work(); }) {}

BackgroundSha256::~BackgroundSha256() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BackgroundSha256::Work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return busy_ || stopping_; });
    if (stopping_) return;
    // The caller touches neither the hasher nor the block until busy_ is false again.
    lock.unlock();
    hasher_.Update(std::string_view(in_flight_));
    lock.lock();
    in_flight_.clear();
    spare_.swap(in_flight_);
    busy_ = false;
    changed_.notify_all();
  }
}

void BackgroundSha256::WaitIdle(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [this] { return !busy_; });
}

std::string BackgroundSha256::Submit(std::string block) {
  std::unique_lock lock(mutex_);
  WaitIdle(lock);
  if (block.empty()) return block;
  in_flight_.swap(block);  // `block` now holds what was left in in_flight_: empty
  busy_ = true;
  std::string next = std::move(spare_);
  spare_.clear();
  changed_.notify_all();
  next.clear();
  return next;
}

std::string BackgroundSha256::HexDigest() {
  std::unique_lock lock(mutex_);
  WaitIdle(lock);
  return hasher_.HexDigest();
}

void BackgroundSha256::Reset(Sha256 start) {
  std::unique_lock lock(mutex_);
  WaitIdle(lock);
  hasher_ = std::move(start);
}

}  // namespace uh
