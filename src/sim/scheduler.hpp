#pragma once

// Timers for a whole fleet on one asio timer: a heap of (deadline, device). 100,000 waiting
// devices cost 16 bytes each instead of an asio timer each.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace uh::sim {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(std::uint32_t device)>;

  Scheduler(boost::asio::io_context& io, Callback on_due);

  // Calls on_due(device) at `when` (at once if it has passed, but never from within At).
  void At(Clock::time_point when, std::uint32_t device);
  // Drops every pending deadline; nothing more is called.
  void Clear();
  [[nodiscard]] std::size_t pending() const { return heap_.size(); }

 private:
  struct Entry {
    Clock::time_point when;
    std::uint32_t device;
    bool operator>(const Entry& other) const { return when > other.when; }
  };

  void Arm();
  void OnTimer(std::uint64_t generation);

  boost::asio::steady_timer timer_;
  Callback on_due_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  bool armed_ = false;
  Clock::time_point armed_for_{};
  std::uint64_t generation_ = 0;  // tells a superseded wait from the current one
};

}  // namespace uh::sim
