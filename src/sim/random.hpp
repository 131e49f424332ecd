#pragma once

// Deterministic randomness for the fleet: every draw derives from --seed and the device index,
// so a run can be repeated and a device's fate (fail or not) is known before it starts.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace uh::sim {

// One step of SplitMix64: advances `state` and returns 64 well-mixed bits.
[[nodiscard]] inline std::uint64_t NextRandom(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A hash of two values (the seed and an index): independent streams from one seed.
[[nodiscard]] inline std::uint64_t MixRandom(std::uint64_t a, std::uint64_t b) {
  std::uint64_t state = a ^ (b * 0xd6e8feb86659fd93ULL);
  (void)NextRandom(state);
  return NextRandom(state);
}

// Uniform in [0, 1).
[[nodiscard]] inline double UnitInterval(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// Uniform in [0, bound) (bound > 0); the tiny modulo bias does not matter here.
[[nodiscard]] inline std::uint64_t Below(std::uint64_t bits, std::uint64_t bound) {
  return bits % bound;
}

// `base` spread uniformly over [base - spread, base + spread], never negative.
[[nodiscard]] inline std::chrono::milliseconds Spread(std::chrono::milliseconds base,
                                                      std::chrono::milliseconds spread,
                                                      std::uint64_t& state) {
  if (spread.count() <= 0) return std::max(base, std::chrono::milliseconds(0));
  const auto width = static_cast<std::uint64_t>(spread.count()) * 2 + 1;
  const auto offset = static_cast<std::int64_t>(Below(NextRandom(state), width)) - spread.count();
  return std::max(base + std::chrono::milliseconds(offset), std::chrono::milliseconds(0));
}

}  // namespace uh::sim
