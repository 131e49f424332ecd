// Reports: the body the server receives, and what does (not) count as a failure.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client_fixture.hpp"
#include "raw_http_server.hpp"

namespace uh::agent::testing {
namespace {

class ClientReportTest : public ClientTest {
 protected:
  void Serve(int status) {
    server_.Route(http::Method::kPost, "/report", [status](http::Request&) {
      return http::Response::Json(status, nlohmann::json::object());
    });
    server_.Start();
  }
};

TEST_F(ClientReportTest, SendsTheDeviceFieldsWithStatusAndPackage) {
  Serve(200);
  auto result = MakeTestClient(server_.Url())
                    ->Report(DeviceFields(), {.status = "downloaded", .package_uid = kPackage});
  ASSERT_TRUE(result) << result.error().message();
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/report");
  EXPECT_EQ(seen[0].Header("api-content-type"), "application/vnd.updatehub-v1+json");
  EXPECT_EQ(seen[0].Header("content-type"), "application/json");
  nlohmann::json expected = DeviceFields();
  expected["status"] = "downloaded";
  expected["package-uid"] = kPackage;
  EXPECT_EQ(nlohmann::json::parse(seen[0].body), expected);
}

TEST_F(ClientReportTest, ErrorReportCarriesPreviousStateMessageAndLog) {
  Serve(200);
  auto result = MakeTestClient(server_.Url())
                    ->Report(DeviceFields(), {.status = "error",
                                              .package_uid = kPackage,
                                              .previous_state = "installing",
                                              .error_message = "target /dev/mmcblk0p3 is mounted",
                                              .current_log = "info: installing\nerror: mounted"});
  ASSERT_TRUE(result) << result.error().message();
  const auto body = nlohmann::json::parse(server_.seen().at(0).body);
  EXPECT_EQ(body["status"], "error");
  EXPECT_EQ(body["package-uid"], kPackage);
  EXPECT_EQ(body["previous-state"], "installing");
  EXPECT_EQ(body["error-message"], "target /dev/mmcblk0p3 is mounted");
  EXPECT_EQ(body["current-log"], "info: installing\nerror: mounted");
  EXPECT_EQ(body["product-uid"], kProduct);
  EXPECT_EQ(body["device-identity"], DeviceFields()["device-identity"]);
}

TEST_F(ClientReportTest, TheServersAnswerDoesNotMatter) {
  Serve(500);
  EXPECT_TRUE(MakeTestClient(server_.Url())
                  ->Report(DeviceFields(), {.status = "installed", .package_uid = kPackage}));
}

TEST_F(ClientReportTest, FailedTransferIsAnError) {
  auto result = MakeTestClient("http://127.0.0.1:" + std::to_string(ClosedPort()))
                    ->Report(DeviceFields(), {.status = "installed", .package_uid = kPackage});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo);
  EXPECT_THAT(result.error().message(), ::testing::StartsWith("report installed: "));
}

}  // namespace
}  // namespace uh::agent::testing
