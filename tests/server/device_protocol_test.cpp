// The server's strictness on what devices send (protocol/bodies.hpp, as updatehub-server reads
// probe and report bodies) and the store record it keeps (server/device_protocol.hpp).

#include "server/device_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace uh::server {
namespace {

using protocol::ParseProbe;
using protocol::ParseReport;

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kProduct(64, 'a');

json Probe() {
  return {{"product-uid", kProduct},
          {"version", "1.0"},
          {"hardware", "board-a"},
          {"device-identity", {{"mac", {"bb:bb", "aa:aa"}}, {"serial", "S1"}}},
          {"device-attributes", {{"region", "eu"}}}};
}

TEST(DeviceProtocol, ParsesUpstreamProbe) {
  auto probe = ParseProbe(Probe().dump());
  ASSERT_TRUE(probe) << probe.error().message();
  EXPECT_EQ(probe->product_uid, kProduct);
  EXPECT_EQ(probe->hardware, "board-a");
  // Values sorted, keys sorted: the same device in any order is the same device.
  EXPECT_EQ(probe->CanonicalIdentity(), R"({"mac": ["aa:aa", "bb:bb"], "serial": "S1"})");
  json reordered = Probe();
  reordered["device-identity"]["mac"] = {"aa:aa", "bb:bb", "aa:aa"};
  EXPECT_EQ(ParseProbe(reordered.dump())->CanonicalIdentity(), probe->CanonicalIdentity());
  json single = Probe();
  single["device-identity"]["mac"] = {"aa:aa"};
  EXPECT_EQ(ParseProbe(single.dump())->identity["mac"], "aa:aa");
  json no_attributes = Probe();
  no_attributes.erase("device-attributes");
  EXPECT_TRUE(ParseProbe(no_attributes.dump()));
  json extra = Probe();
  extra["something-new"] = 1;
  EXPECT_TRUE(ParseProbe(extra.dump()));
}

TEST(DeviceProtocol, RejectsBadProbes) {
  auto error_of = [](json patch) {
    json body = Probe();
    body.merge_patch(patch);
    auto probe = ParseProbe(body.dump());
    EXPECT_FALSE(probe) << body.dump();
    return probe ? std::string() : probe.error().message();
  };
  EXPECT_THAT(error_of({{"product-uid", nullptr}}), HasSubstr("'product-uid' is missing"));
  EXPECT_THAT(error_of({{"product-uid", "abc"}}), HasSubstr("64 lowercase hex"));
  EXPECT_THAT(error_of({{"version", 1}}), HasSubstr("must be a string"));
  EXPECT_THAT(error_of({{"version", ""}}), HasSubstr("empty"));
  EXPECT_THAT(error_of({{"device-identity", nullptr}}), HasSubstr("'device-identity' is missing"));
  json empty_identity = Probe();
  empty_identity["device-identity"] = json::object();  // merge_patch cannot express this
  auto empty = ParseProbe(empty_identity.dump());
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message(), HasSubstr("empty"));
  EXPECT_THAT(error_of({{"device-identity", {{"id", 5}}}}), HasSubstr("must hold strings"));
  EXPECT_THAT(error_of({{"device-identity", {{"id", json::array()}}}}), HasSubstr("1 to 64"));
  EXPECT_THAT(error_of({{"device-attributes", "x"}}), HasSubstr("must be an object"));
  EXPECT_THAT(error_of({{"hardware", std::string(5000, 'h')}}), HasSubstr("too long"));
  EXPECT_FALSE(ParseProbe("not json"));
  EXPECT_FALSE(ParseProbe("[1]"));
  EXPECT_FALSE(ParseProbe(std::string(300000, ' ') + "{}"));
}

TEST(DeviceProtocol, ParsesReports) {
  json body = Probe();
  body["status"] = "error";
  body["package-uid"] = std::string(64, 'b');
  body["previous-state"] = "installing";
  body["error-message"] = "no space left";
  body["current-log"] = "line 1\nline 2";
  auto report = ParseReport(body.dump());
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->status, "error");
  EXPECT_EQ(report->previous_state, "installing");
  EXPECT_EQ(report->error_message, "no space left");
  EXPECT_EQ(report->current_log, "line 1\nline 2");
  EXPECT_EQ(report->device.hardware, "board-a");

  body["status"] = "exploded";
  EXPECT_THAT(ParseReport(body.dump()).error().message(), HasSubstr("unknown status"));
  body["status"] = "downloading";
  body["package-uid"] = "x";
  EXPECT_THAT(ParseReport(body.dump()).error().message(), HasSubstr("'package-uid'"));
}

TEST(DeviceProtocol, LongLogKeepsItsTailAndStaysUtf8) {
  json body = Probe();
  body["status"] = "error";
  body["package-uid"] = std::string(64, 'b');
  std::string log;
  while (log.size() < 700 * 1024) log += "\xc3\xa9t\xc3\xa9 ";  // "été "
  log += "END";
  body["current-log"] = log;
  auto report = ParseReport(body.dump());
  ASSERT_TRUE(report);
  EXPECT_LE(report->current_log.size(), 512u * 1024);
  EXPECT_TRUE(report->current_log.ends_with("END"));
  EXPECT_NO_THROW((void)json(report->current_log).dump());
}

TEST(DeviceProtocol, StoreRecordHasTheCanonicalIdentity) {
  auto probe = ParseProbe(Probe().dump());
  ASSERT_TRUE(probe) << probe.error().message();
  const DeviceProbe seen = ToDeviceProbe(*probe, "2026-12-07T00:00:00Z");
  EXPECT_EQ(seen.product_uid, kProduct);
  EXPECT_EQ(seen.identity, probe->CanonicalIdentity());
  EXPECT_EQ(seen.attributes, R"({"region": "eu"})");
  EXPECT_EQ(seen.hardware, "board-a");
  EXPECT_EQ(seen.version, "1.0");
  EXPECT_EQ(seen.seen_at, "2026-12-07T00:00:00Z");
}

}  // namespace
}  // namespace uh::server
