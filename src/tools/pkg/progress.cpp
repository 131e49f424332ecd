#include "tools/pkg/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace uh::tools {

std::string ProgressFrame(std::string_view label, std::uint64_t done, std::uint64_t total,
                          double seconds) {
  constexpr int kWidth = 30;
  const double fraction =
      total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(fraction * kWidth);
  const double mib_per_s = seconds > 0 ? static_cast<double>(done) / seconds / (1 << 20) : 0;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "%3d%% %8.1f MiB/s", static_cast<int>(fraction * 100),
                mib_per_s);
  return std::string(label) + " [" + bar + "] " + numbers;
}

ProgressBar::ProgressBar(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(100) && base_ + done < total_) return;
  last_ = now;
  Draw(base_ + done);
}

void ProgressBar::Draw(std::uint64_t done) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r%s", ProgressFrame(label_, done, total_, seconds).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace uh::tools
