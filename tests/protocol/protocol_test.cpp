// The wire format without a server: URLs, request bodies as the agent writes them and the server
// reads them, the meaning of probe replies, Content-Range and where an object reply's body goes.
// The server's strictness on bodies is tested in tests/server/device_protocol_test.cpp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/bodies.hpp"
#include "protocol/names.hpp"
#include "protocol/replies.hpp"
#include "protocol/url.hpp"

namespace uh::protocol {
namespace {

using ::testing::HasSubstr;

const std::string kHex(64, 'c');

nlohmann::json DeviceFields() {
  return {{"product-uid", std::string(64, 'a')},
          {"version", "1.0"},
          {"hardware", "board-a"},
          {"device-identity", {{"id1", "value"}, {"mac", {"aa:bb", "cc:dd"}}}},
          {"device-attributes", {{"attr", "value"}}}};
}

TEST(ProtocolTest, JoinsUrls) {
  EXPECT_EQ(JoinUrl("http://h:1", "/upgrades"), "http://h:1/upgrades");
  EXPECT_EQ(JoinUrl("http://h:1/", "/upgrades"), "http://h:1/upgrades");
  EXPECT_EQ(JoinUrl("https://h/api//", "/report"), "https://h/api/report");
  EXPECT_TRUE(IsHttpUrl("http://h"));
  EXPECT_TRUE(IsHttpUrl("HTTPS://h/x"));
  EXPECT_FALSE(IsHttpUrl("http://"));
  EXPECT_FALSE(IsHttpUrl("file:///etc/passwd"));
  EXPECT_FALSE(IsHttpUrl("ftp://h/x"));
  EXPECT_FALSE(IsHttpUrl("h:80"));
}

TEST(ProtocolTest, ObjectPathTakesOnlyLowercaseHexIds) {
  auto path = ObjectPath(kHex, std::string(64, 'd'), std::string(64, 'e'));
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, "/products/" + kHex + "/packages/" + std::string(64, 'd') + "/objects/" +
                       std::string(64, 'e'));
  for (const std::string& bad : {std::string(64, 'C'), std::string(63, 'c'), std::string(65, 'c'),
                                 "../../../../etc/passwd" + std::string(42, 'c'),
                                 kHex.substr(0, 60) + "?a=b", std::string()}) {
    EXPECT_EQ(ObjectPath(bad, kHex, kHex).error().code(), Errc::kInvalidArgument) << bad;
    EXPECT_EQ(ObjectPath(kHex, bad, kHex).error().code(), Errc::kInvalidArgument) << bad;
    EXPECT_EQ(ObjectPath(kHex, kHex, bad).error().code(), Errc::kInvalidArgument) << bad;
  }
}

TEST(ProtocolTest, ReportBodyHasUpstreamFieldNames) {
  auto normal = ReportBody(DeviceFields(), {.status = "downloading", .package_uid = kHex});
  ASSERT_TRUE(normal);
  nlohmann::json expected = DeviceFields();
  expected["status"] = "downloading";
  expected["package-uid"] = kHex;
  EXPECT_EQ(nlohmann::json::parse(*normal), expected);

  auto error = ReportBody(DeviceFields(), {.status = "error",
                                           .package_uid = kHex,
                                           .previous_state = "installing",
                                           .error_message = "disk on fire",
                                           .current_log = "line 1\nline 2"});
  ASSERT_TRUE(error);
  expected["status"] = "error";
  expected["previous-state"] = "installing";
  expected["error-message"] = "disk on fire";
  expected["current-log"] = "line 1\nline 2";
  EXPECT_EQ(nlohmann::json::parse(*error), expected);
}

TEST(ProtocolTest, BodiesRefuseNonObjectsAndSurviveInvalidUtf8) {
  EXPECT_EQ(ProbeBody(nlohmann::json::array()).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(ReportBody("text", {}).error().code(), Errc::kInvalidArgument);
  nlohmann::json fields = DeviceFields();
  fields["device-attributes"]["bad"] = std::string("\xff\xfe", 2);  // from a firmware script
  auto body = ProbeBody(fields);
  ASSERT_TRUE(body);
  EXPECT_TRUE(nlohmann::json::accept(*body));
}

TEST(ProtocolTest, InterpretsProbeReplies) {
  const std::optional<std::string> none;
  EXPECT_TRUE(std::holds_alternative<NoUpdate>(*InterpretProbeReply(404, none, none, "{}")));

  auto extra = InterpretProbeReply(200, "120", none, "ignored");
  ASSERT_TRUE(extra);
  EXPECT_EQ(std::get<ExtraPoll>(*extra).seconds, 120);
  for (const std::string bad : {"", "-5", "ten", "1e3", "99999999999999999999", "31708800"}) {
    EXPECT_EQ(InterpretProbeReply(200, bad, none, "x").error().code(), Errc::kMalformed) << bad;
  }

  auto offer = InterpretProbeReply(200, none, "c2lnbmF0dXJl", "{ \"exact\" : 1 }\n");
  ASSERT_TRUE(offer);
  EXPECT_EQ(std::get<UpdateOffer>(*offer).metadata, "{ \"exact\" : 1 }\n");
  EXPECT_EQ(std::get<UpdateOffer>(*offer).signature, "c2lnbmF0dXJl");
  auto unsigned_offer = InterpretProbeReply(200, none, "", "{}");
  ASSERT_TRUE(unsigned_offer);
  EXPECT_EQ(std::get<UpdateOffer>(*unsigned_offer).signature, std::nullopt);
  EXPECT_EQ(InterpretProbeReply(200, none, none, "").error().code(), Errc::kMalformed);

  auto failed = InterpretProbeReply(503, none, none, "down\nfor maintenance");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), Errc::kIo);
  EXPECT_THAT(failed.error().message(), HasSubstr("503: down for maintenance"));
  EXPECT_FALSE(InterpretProbeReply(204, none, none, ""));
  EXPECT_FALSE(InterpretProbeReply(302, none, none, ""));
}

TEST(ProtocolTest, ParsesContentRange) {
  auto range = ParseContentRange("bytes 100-199/200");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->first, 100u);
  EXPECT_EQ(range->last, 199u);
  EXPECT_EQ(range->total, 200u);
  auto unknown_total = ParseContentRange("bytes 0-0/*");
  ASSERT_TRUE(unknown_total);
  EXPECT_EQ(unknown_total->total, std::nullopt);
  for (const char* bad :
       {"", "bytes", "bytes */200", "bytes 5-4/200", "bytes 0-200/200", "bytes -1-5/10",
        "bytes 1 - 5/10", "items 0-1/2", "bytes 0-1/2x", "bytes 0-99999999999999999999/*"}) {
    EXPECT_EQ(ParseContentRange(bad).error().code(), Errc::kMalformed) << bad;
  }
}

// Where a reply to "Range: bytes=START-" goes, for an object of 1000 bytes resumed at 400.
TEST(ProtocolTest, PlacesAnObjectReplyFromItsHeadAlone) {
  const std::optional<std::string> none;
  const auto text = [](const char* value) { return std::optional<std::string>(value); };
  const auto at = [&](long status, std::uint64_t start, std::optional<std::string> range,
                      std::optional<std::string> length) {
    return ObjectBodyOffset(status, 1000, start, range, length);
  };
  // 206: the rest, appended.
  EXPECT_EQ(at(206, 400, text("bytes 400-999/1000"), text("600")), 400u);
  EXPECT_EQ(at(206, 400, text("bytes 400-999/*"), none), 400u);
  // 200 with the whole object or without a length: from the start.
  EXPECT_EQ(at(200, 400, none, text("1000")), 0u);
  EXPECT_EQ(at(200, 400, none, none), 0u);
  EXPECT_EQ(at(200, 0, none, text("1000")), 0u);
  // 200 with exactly the rest (updatehub-ce): appended; with nothing left, nothing to append.
  EXPECT_EQ(at(200, 400, none, text("600")), 400u);
  EXPECT_EQ(at(200, 1000, none, text("0")), 1000u);

  EXPECT_EQ(at(206, 400, none, text("600")).error().code(), Errc::kMalformed);
  EXPECT_EQ(at(206, 300, text("bytes 400-999/1000"), none).error().code(), Errc::kMalformed);
  EXPECT_EQ(at(206, 400, text("bytes 400-999/2000"), none).error().code(), Errc::kIntegrity);
  EXPECT_EQ(at(206, 400, text("bytes 400-999/1000"), text("700")).error().code(), Errc::kIntegrity);
  EXPECT_EQ(at(200, 400, none, text("six")).error().code(), Errc::kMalformed);
  for (const char* length : {"599", "601", "400", "1001", "0"}) {
    EXPECT_EQ(at(200, 400, none, text(length)).error().code(), Errc::kIntegrity) << length;
  }
  // The rest's length with a Content-Range is not updatehub-ce's answer.
  EXPECT_EQ(at(200, 400, text("bytes 400-999/1000"), text("600")).error().code(), Errc::kIntegrity);
  EXPECT_THAT(at(200, 400, none, text("601")).error().message(),
              HasSubstr("instead of 1000 or the 600 missing"));
  EXPECT_EQ(at(500, 0, none, none).error().code(), Errc::kMalformed);
}

TEST(ProtocolTest, ExcerptsAreShortAndPrintable) {
  EXPECT_EQ(Excerpt("a\r\nb\x01"), "a  b ");
  EXPECT_EQ(Excerpt(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
  EXPECT_EQ(StatusError(404, "").code(), Errc::kNotFound);
  EXPECT_EQ(StatusError(404, "").message(), "server answered 404");
  // What may pass with another try, and what will not.
  for (long status : {500L, 502L, 503L, 408L, 429L, 302L, 600L}) {
    EXPECT_EQ(StatusError(status, "").code(), Errc::kIo) << status;
  }
  for (long status : {400L, 401L, 403L, 410L, 416L}) {
    EXPECT_EQ(StatusError(status, "").code(), Errc::kInvalidArgument) << status;
  }
}

TEST(ProtocolTest, ServerReadsWhatTheAgentWrites) {
  auto probe_body = ProbeBody(DeviceFields());
  ASSERT_TRUE(probe_body);
  auto probe = ParseProbe(*probe_body);
  ASSERT_TRUE(probe) << probe.error().message();
  EXPECT_EQ(probe->product_uid, std::string(64, 'a'));
  EXPECT_EQ(probe->version, "1.0");
  EXPECT_EQ(probe->hardware, "board-a");
  EXPECT_EQ(probe->identity, DeviceFields()["device-identity"]);
  EXPECT_EQ(probe->attributes, DeviceFields()["device-attributes"]);

  auto report_body = ReportBody(DeviceFields(), {.status = "error",
                                                 .package_uid = kHex,
                                                 .previous_state = "installing",
                                                 .error_message = "disk full",
                                                 .current_log = "line\n"});
  ASSERT_TRUE(report_body);
  auto report = ParseReport(*report_body);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->device.CanonicalIdentity(), probe->CanonicalIdentity());
  EXPECT_EQ(report->status, "error");
  EXPECT_EQ(report->package_uid, kHex);
  EXPECT_EQ(report->previous_state, "installing");
  EXPECT_EQ(report->error_message, "disk full");
  EXPECT_EQ(report->current_log, "line\n");

  // A report without the error fields reads them as empty.
  auto plain =
      ParseReport(*ReportBody(DeviceFields(), {.status = "installed", .package_uid = kHex}));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(plain->previous_state, "");
  EXPECT_EQ(plain->current_log, "");
}

TEST(ProtocolTest, NamesAndValues) {
  EXPECT_EQ(UserAgent("2.1.0"), "updatehub/2.1.0 Linux");
  EXPECT_EQ(RangeFrom(1024), "bytes=1024-");
  EXPECT_EQ(JoinUrl("http://h/", kProbePath), "http://h/upgrades");
  EXPECT_EQ(JoinUrl("http://h", kReportPath), "http://h/report");
}

}  // namespace
}  // namespace uh::protocol

namespace uh::protocol {
namespace {

// An identity is a key of the device (a serial, a MAC), kept indexable by every store backend.
TEST(ProtocolTest, IdentityLongerThan2KiBIsRefused) {
  nlohmann::json fields = DeviceFields();
  fields["device-identity"] = {{"serial", std::string(1000, 's')}, {"mac", std::string(990, 'm')}};
  auto fits = ParseProbe(fields.dump());
  ASSERT_TRUE(fits) << fits.error().message();
  EXPECT_LE(fits->CanonicalIdentity().size(), 2048u);
  fields["device-identity"]["site"] = std::string(100, 'x');
  auto probe = ParseProbe(fields.dump());
  ASSERT_FALSE(probe);
  EXPECT_EQ(probe.error().code(), Errc::kMalformed);
  EXPECT_NE(probe.error().message().find("'device-identity' is too long"), std::string::npos)
      << probe.error().message();
  auto report = ParseReport(
      ReportBody(fields, {.status = "downloading", .package_uid = std::string(64, 'b')}).value());
  EXPECT_FALSE(report);
}

}  // namespace
}  // namespace uh::protocol
