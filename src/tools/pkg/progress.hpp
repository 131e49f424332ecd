#pragma once

// A one-line progress bar on stderr, drawn only when stderr is a terminal.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace uh::tools {

// One frame of the bar, without the leading carriage return:
// "hashing [###############               ]  50%     12.5 MiB/s". Nothing to do (total 0) is
// 100 %; more done than the total (a file grew) shows 100 %.
[[nodiscard]] std::string ProgressFrame(std::string_view label, std::uint64_t done,
                                        std::uint64_t total, double seconds);

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
