// The access log: a line per request, text or JSON, without the query (it may carry secrets).

#include "server/server_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace uh::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

http::Request ProbeRequest() {
  http::Request request;
  request.method = http::Method::kPost;
  request.target = "/upgrades?token=s3cret";
  request.path = "/upgrades";
  request.headers["user-agent"] = "updatehub-agent/2.0 \"quoted\"";
  request.remote_address = "192.0.2.7";
  request.received = std::chrono::steady_clock::now() - std::chrono::milliseconds(5);
  return request;
}

std::string Logged(LogFormat format) {
  std::ostringstream out;
  AccessLog log(format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out), false);
  log.Record(ProbeRequest(), 200, 1234);
  return out.str();
}

TEST(AccessLogTest, JsonLineCarriesTheFields) {
  const std::string line = Logged(LogFormat::kJson);
  ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  const auto record = nlohmann::json::parse(line);
  EXPECT_EQ(record["type"], "access");
  EXPECT_EQ(record["level"], "info");
  EXPECT_TRUE(record["time"].is_string());
  EXPECT_EQ(record["method"], "POST");
  EXPECT_EQ(record["path"], "/upgrades");
  EXPECT_EQ(record["status"], 200);
  EXPECT_EQ(record["bytes"], 1234);
  EXPECT_GE(record["duration_ms"].get<double>(), 5.0);
  EXPECT_EQ(record["client"], "192.0.2.7");
  EXPECT_EQ(record["user_agent"], "updatehub-agent/2.0 \"quoted\"");
  EXPECT_THAT(line, Not(HasSubstr("s3cret")));
}

TEST(AccessLogTest, TextLineIsOneLineWithoutTheQuery) {
  const std::string line = Logged(LogFormat::kText);
  ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_THAT(line, HasSubstr("access POST \"/upgrades\" 200 1234B "));
  EXPECT_THAT(line, HasSubstr(" 192.0.2.7 \"updatehub-agent/2.0 \\\"quoted\\\"\""));
  EXPECT_THAT(line, Not(HasSubstr("s3cret")));
}

TEST(AccessLogTest, ParsesTheFormatName) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml"));
}

}  // namespace
}  // namespace uh::server
