#pragma once

// Latency histograms and the store's own metrics. The histogram is the one every latency of
// /metrics uses (HTTP requests, store transactions): fixed buckets, atomics only, so recording
// costs no allocation and takes no lock on the hot path.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uh::server {

// Upper bounds in seconds: probes take about a millisecond, uploads and downloads seconds.
inline constexpr std::array<double, 15> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// The same bounds as Prometheus "le" label values.
inline constexpr std::array<std::string_view, kLatencyBuckets.size()> kLatencyBucketLabels = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",   "0.5",   "1",      "2.5",   "5",    "10",    "30"};

class LatencyHistogram {
 public:
  // Counts per bucket (not cumulative), the last one past every bound (+Inf).
  using Counts = std::array<std::uint64_t, kLatencyBuckets.size() + 1>;

  void Observe(std::chrono::steady_clock::duration elapsed) noexcept;
  // A copy of the counts; concurrent observations may land in it or not.
  [[nodiscard]] Counts Read() const noexcept;
  [[nodiscard]] double SumSeconds() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

// Observes the time from its construction to its destruction.
class ScopedLatency {
 public:
  explicit ScopedLatency(LatencyHistogram& histogram) noexcept
      : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~ScopedLatency() { histogram_.Observe(std::chrono::steady_clock::now() - start_); }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  LatencyHistogram& histogram_;
  std::chrono::steady_clock::time_point start_;
};

// One store backend's transactions, as its connection pool sees them: the time of each Read or
// Write call (waiting for a connection, and retries, included) and the transactions run again.
struct StoreMetrics {
  LatencyHistogram read;
  LatencyHistogram write;
  std::atomic<std::uint64_t> retries{0};
  // SQLite: the write transactions committed (or tried), each holding one or more writes.
  std::atomic<std::uint64_t> commits{0};
};

// Per backend and per process (every store of a backend in the process shares them).
[[nodiscard]] StoreMetrics& SqliteStoreMetrics() noexcept;
[[nodiscard]] StoreMetrics& PostgresStoreMetrics() noexcept;

}  // namespace uh::server
