#pragma once

// What every end-to-end test shares: the programs under test (paths from CMake), how long to
// wait for things, and small helpers to wait and to read files.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "support/test_support.hpp"

namespace uh::e2e {

#if defined(__SANITIZE_ADDRESS__)
// The server and the agents run under ASan+UBSan: every wait is this much longer. What is
// asserted stays the same.
inline constexpr int kSlowdown = 4;
#else
inline constexpr int kSlowdown = 1;
#endif

// A limit for something that takes `seconds` in the optimised build.
[[nodiscard]] constexpr std::chrono::milliseconds Limit(int seconds) {
  return std::chrono::seconds(seconds * kSlowdown);
}

// The programs of this build tree, and the boot simulator of the source tree.
[[nodiscard]] std::filesystem::path ServerBinary();
[[nodiscard]] std::filesystem::path AgentBinary();
[[nodiscard]] std::filesystem::path PkgBinary();
[[nodiscard]] std::filesystem::path DeviceSimulator();

// uh::testing::WaitUntil, polling every 200 ms by default.
[[nodiscard]] inline bool WaitUntil(
    const std::function<bool()>& condition, std::chrono::milliseconds limit,
    std::chrono::milliseconds step = std::chrono::milliseconds(200)) {
  return uh::testing::WaitUntil(condition, limit, step);
}

// The file's content, or "" when it cannot be read (a file that may not exist yet).
[[nodiscard]] std::string ReadIfExists(const std::filesystem::path& path);
// Its last `lines` lines.
[[nodiscard]] std::string Tail(const std::filesystem::path& path, std::size_t lines);
// How many lines of `text` contain `needle`.
[[nodiscard]] std::size_t CountLines(std::string_view text, std::string_view needle);
// The file's size, or 0 when it does not exist.
[[nodiscard]] std::uintmax_t SizeOf(const std::filesystem::path& path);

}  // namespace uh::e2e
