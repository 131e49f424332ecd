// RFC 3339 UTC times: what FormatTime writes, ParseTime reads back, and nothing else.

#include "core/time.hpp"

#include <gtest/gtest.h>

namespace uh {
namespace {

using std::chrono::system_clock;

TEST(Time, FormatAndParseRoundTrip) {
  const auto parsed = ParseTime("2026-11-22T12:34:56Z");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(system_clock::to_time_t(*parsed), 1795350896);
  EXPECT_EQ(FormatTime(*parsed), "2026-11-22T12:34:56Z");
  EXPECT_EQ(system_clock::to_time_t(*ParseTime("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(FormatTime(*ParseTime("2024-02-29T23:59:59Z")), "2024-02-29T23:59:59Z");
  // A leap second is the next minute's first second.
  EXPECT_EQ(FormatTime(*ParseTime("2016-12-31T23:59:60Z")), "2017-01-01T00:00:00Z");
}

TEST(Time, AnythingElseIsMalformed) {
  for (const char* text : {
           "",
           "2026-11-22",
           "2026-11-22T12:34:56",
           "2026-11-22T12:34:56+00:00",
           "2026-11-22 12:34:56Z",
           "2026-11-22t12:34:56Z",
           "2026-13-01T00:00:00Z",
           "2026-00-01T00:00:00Z",
           "2026-02-30T00:00:00Z",
           "2025-02-29T00:00:00Z",
           "2026-11-00T00:00:00Z",
           "2026-11-22T24:00:00Z",
           "2026-11-22T23:60:00Z",
           "2026-11-22T23:59:61Z",
           "2026-11-22T-1:00:00Z",  // a sign where a digit belongs
           "-026-11-22T00:00:00Z",
           "+026-11-22T00:00:00Z",
           " 026-11-22T00:00:00Z",
           "2026-1 -22T00:00:00Z",
           "2026-11-22T00:00:0xZ",
       }) {
    const auto parsed = ParseTime(text);
    ASSERT_FALSE(parsed) << "'" << text << "' was accepted";
    EXPECT_EQ(parsed.error().code(), Errc::kMalformed);
  }
}

// Years the clock cannot hold are refused, not overflowed into some other time.
TEST(Time, OutOfRangeYearsAreRefused) {
  for (const char* text : {"9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
                           "1600-01-01T00:00:00Z"}) {
    const auto parsed = ParseTime(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message().find("range"), std::string::npos) << text;
  }
  EXPECT_TRUE(ParseTime("2261-12-31T23:59:59Z"));
  EXPECT_TRUE(ParseTime("1700-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace uh
