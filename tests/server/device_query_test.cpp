#include "server/device_query.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace uh::server {
namespace {

using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(DeviceQuery, ParsesEveryFilter) {
  auto filter = ParseDeviceQuery({{"product", "p"},
                                  {"hardware", "h"},
                                  {"version", "1.0"},
                                  {"identity.serial", "ABC"},
                                  {"identity.mac", "aa"},
                                  {"attributes.region", "eu"},
                                  {"seen_before", "2026-12-07T00:00:00Z"},
                                  {"seen_after", "2026-12-01T00:00:00Z"},
                                  {"rollout_state", "failed"},
                                  {"after", "7"},
                                  {"limit", "50"}});
  ASSERT_TRUE(filter) << filter.error().message();
  EXPECT_EQ(filter->product_uid, "p");
  EXPECT_EQ(filter->hardware, "h");
  EXPECT_EQ(filter->version, "1.0");
  EXPECT_EQ(filter->identity, (Pairs{{"mac", "aa"}, {"serial", "ABC"}}));
  EXPECT_EQ(filter->attributes, (Pairs{{"region", "eu"}}));
  EXPECT_EQ(filter->seen_before, "2026-12-07T00:00:00Z");
  EXPECT_EQ(filter->seen_after, "2026-12-01T00:00:00Z");
  EXPECT_EQ(filter->rollout_state, "failed");
  EXPECT_EQ(filter->after_id, 7);
  EXPECT_EQ(filter->limit, 50u);
  EXPECT_EQ(ParseDeviceQuery({{"rollout_state", "none"}})->rollout_state, "none");
}

TEST(DeviceQuery, RefusesWhatItDoesNotKnowByName) {
  auto message = [](std::map<std::string, std::string> query) {
    auto filter = ParseDeviceQuery(query);
    EXPECT_FALSE(filter);
    return filter ? std::string() : filter.error().message();
  };
  EXPECT_THAT(message({{"serial", "x"}}), HasSubstr("unknown query parameter 'serial'"));
  EXPECT_THAT(message({{"identity.", "x"}}), HasSubstr("'identity.'"));
  EXPECT_THAT(message({{"seen_after", "yesterday"}}), HasSubstr("RFC 3339"));
  EXPECT_THAT(message({{"rollout_state", "lost"}}), HasSubstr("rollout_state"));
  EXPECT_THAT(message({{"limit", "0"}}), HasSubstr("limit"));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 9; ++i) many["identity.k" + std::to_string(i)] = "v";
  EXPECT_THAT(message(many), HasSubstr("at most 8"));
}

}  // namespace
}  // namespace uh::server
