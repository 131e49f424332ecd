#include "server/store/store_metrics.hpp"

#include <algorithm>

namespace uh::server {
namespace {

constinit StoreMetrics sqlite_store_metrics;
constinit StoreMetrics postgres_store_metrics;

}  // namespace

void LatencyHistogram::Observe(std::chrono::steady_clock::duration elapsed) noexcept {
  const auto nanoseconds = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  const double seconds = static_cast<double>(nanoseconds) / 1e9;
  const auto bucket = static_cast<std::size_t>(std::ranges::lower_bound(kLatencyBuckets, seconds) -
                                               kLatencyBuckets.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanoseconds_.fetch_add(static_cast<std::uint64_t>(nanoseconds), std::memory_order_relaxed);
}

LatencyHistogram::Counts LatencyHistogram::Read() const noexcept {
  Counts out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

double LatencyHistogram::SumSeconds() const noexcept {
  return static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
}

StoreMetrics& SqliteStoreMetrics() noexcept { return sqlite_store_metrics; }
StoreMetrics& PostgresStoreMetrics() noexcept { return postgres_store_metrics; }

}  // namespace uh::server
