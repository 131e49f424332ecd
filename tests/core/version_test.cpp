#include "core/version.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace uh {
namespace {

TEST(CompareVersions, OrdersVersionsAsPeopleReadThem) {
  // Each is older than the next.
  const std::vector<std::string> ordered = {
      "0.9",   "1",          "1.0",   "1.0.0-alpha",  "1.0.0-rc1", "1.0.0-rc2",  "1.0.0-rc10",
      "1.0.0", "1.0.0.1",    "1.0.1", "1.0a",         "1.0b",      "1.2",        "1.9",
      "1.10",  "2.0.0~beta", "2.0.0", "2.0.0+build3", "10.0",      "2024.01.15", "2024.12.1"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    EXPECT_EQ(CompareVersions(ordered[i], ordered[i]), 0) << ordered[i];
    for (std::size_t j = i + 1; j < ordered.size(); ++j) {
      EXPECT_LT(CompareVersions(ordered[i], ordered[j]), 0) << ordered[i] << " < " << ordered[j];
      EXPECT_GT(CompareVersions(ordered[j], ordered[i]), 0) << ordered[j] << " > " << ordered[i];
    }
  }
}

TEST(CompareVersions, LeadingZerosAndEmptyStrings) {
  EXPECT_EQ(CompareVersions("1.007", "1.7"), 0);
  EXPECT_EQ(CompareVersions("", ""), 0);
  EXPECT_LT(CompareVersions("", "0"), 0);
  EXPECT_GT(CompareVersions("99999999999999999999999", "9999999999999999999999"), 0);
}

}  // namespace
}  // namespace uh
