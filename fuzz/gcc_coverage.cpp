// Coverage feedback for fuzzers built with GCC. libFuzzer reads coverage from counters that only
// clang emits; GCC's -fsanitize-coverage=trace-pc instead calls __sanitizer_cov_trace_pc at every
// basic block, and libFuzzer 14's own definition of it only says it is unsupported and exits.
// The build links with --wrap=__sanitizer_cov_trace_pc, so those calls come here: each one
// counts the transition from the previous block to this one (as AFL does) in a table that
// libFuzzer reads as "extra counters", a section it finds by name on Linux. This file itself is
// not instrumented.

#include <cstdint>

namespace {

constexpr std::uintptr_t kCounterBits = 16;
constexpr std::uintptr_t kCounterMask = (std::uintptr_t{1} << kCounterBits) - 1;

thread_local std::uintptr_t previous_block = 0;

}  // namespace

extern "C" {

// libFuzzer clears these before each input and turns the non-zero ones into features.
__attribute__((section("__libfuzzer_extra_counters"), used))
std::uint8_t uh_fuzz_block_counters[std::uintptr_t{1} << kCounterBits];

void __wrap___sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  const std::uintptr_t block = (pc ^ (pc >> kCounterBits)) & kCounterMask;
  std::uint8_t& counter = uh_fuzz_block_counters[block ^ previous_block];
  if (counter != 0xff) ++counter;  // saturate: a wrapped count would look like a new feature
  previous_block = block >> 1;
}

}  // extern "C"
