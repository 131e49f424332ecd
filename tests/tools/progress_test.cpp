#include "tools/pkg/progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace uh::tools {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::uint64_t kMiB = 1 << 20;

// The bar of a frame: what lies between its brackets.
std::string BarOf(const std::string& frame) {
  const auto open = frame.find('[');
  const auto close = frame.find(']');
  if (open == std::string::npos || close == std::string::npos) return "";
  return frame.substr(open + 1, close - open - 1);
}

TEST(ProgressFrame, ShowsTheShareDoneOfTheTotal) {
  EXPECT_EQ(ProgressFrame("hashing", 0, 100 * kMiB, 0.5),
            "hashing [                              ]   0%      0.0 MiB/s");
  EXPECT_EQ(ProgressFrame("hashing", 50 * kMiB, 100 * kMiB, 2.0),
            "hashing [###############               ]  50%     25.0 MiB/s");
  EXPECT_EQ(ProgressFrame("writing", 100 * kMiB, 100 * kMiB, 4.0),
            "writing [##############################] 100%     25.0 MiB/s");
  // Rounded down: 99.9 % is not done yet.
  EXPECT_THAT(ProgressFrame("hashing", 999, 1000, 1.0), HasSubstr(" 99%"));
  EXPECT_EQ(BarOf(ProgressFrame("hashing", 999, 1000, 1.0)), std::string(29, '#') + " ");
}

// The first frames of a long job are near 0 %, not 100 % (the hashing bar had no total).
TEST(ProgressFrame, TheFirstFramesOfALongJobAreNearZero) {
  const std::string frame = ProgressFrame("hashing", 4 * kMiB, 1024 * kMiB, 0.1);
  EXPECT_THAT(frame, HasSubstr("   0%"));
  EXPECT_EQ(BarOf(frame), std::string(30, ' '));
  EXPECT_THAT(frame, EndsWith("40.0 MiB/s"));
}

TEST(ProgressFrame, NothingToDoIsDone) {
  EXPECT_THAT(ProgressFrame("hashing", 0, 0, 0.0), HasSubstr("100%"));
  EXPECT_EQ(BarOf(ProgressFrame("hashing", 0, 0, 0.0)), std::string(30, '#'));
}

// A file that grows while it is read must not draw past the end of the bar.
TEST(ProgressFrame, MoreThanTheTotalStaysAtOneHundred) {
  const std::string frame = ProgressFrame("hashing", 300, 100, 1.0);
  EXPECT_THAT(frame, HasSubstr("100%"));
  EXPECT_EQ(BarOf(frame), std::string(30, '#'));
}

TEST(ProgressFrame, NoTimeYetIsNoRate) {
  EXPECT_THAT(ProgressFrame("writing", kMiB, 2 * kMiB, 0.0), EndsWith("  0.0 MiB/s"));
  EXPECT_THAT(ProgressFrame("writing", kMiB, 2 * kMiB, 0.0), StartsWith("writing ["));
}

}  // namespace
}  // namespace uh::tools
