#pragma once

// A one-line progress bar on stderr, drawn only when stderr is a terminal.

#include <chrono>
#include <cstdint>
#include <string>

namespace uh::tools {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::uint64_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets the amount done; redraws at most ten times a second.
  void Update(std::uint64_t done);
  // Adds to a base so that several files can share one bar.
  void SetBase(std::uint64_t base) { base_ = base; }
  void Finish();

 private:
  void Draw(std::uint64_t done);

  std::string label_;
  std::uint64_t total_;
  std::uint64_t base_ = 0;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::chrono::steady_clock::time_point start_;
};

}  // namespace uh::tools
