#include "sim/scheduler.hpp"

namespace uh::sim {

Scheduler::Scheduler(boost::asio::io_context& io, Callback on_due)
    : timer_(io), on_due_(std::move(on_due)) {}

void Scheduler::At(Clock::time_point when, std::uint32_t device) {
  heap_.push(Entry{when, device});
  if (!armed_ || when < armed_for_) Arm();
}

void Scheduler::Clear() {
  heap_ = {};
  armed_ = false;
  ++generation_;
  timer_.cancel();
}

void Scheduler::Arm() {
  if (heap_.empty()) return;
  armed_ = true;
  armed_for_ = heap_.top().when;
  const std::uint64_t generation = ++generation_;
  timer_.expires_at(armed_for_);  // cancels the previous wait, if any
  timer_.async_wait([this, generation](const boost::system::error_code&) { OnTimer(generation); });
}

void Scheduler::OnTimer(std::uint64_t generation) {
  if (generation != generation_) return;  // superseded by a later Arm or Clear
  armed_ = false;
  const auto now = Clock::now();
  // Collected first: a callback that schedules again "now" runs on the next turn, not here.
  std::vector<std::uint32_t> due;
  while (!heap_.empty() && heap_.top().when <= now) {
    due.push_back(heap_.top().device);
    heap_.pop();
  }
  Arm();
  for (const std::uint32_t device : due) on_due_(device);
}

}  // namespace uh::sim
