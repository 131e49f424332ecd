#include "agent/api/api_routes.hpp"

#include <gtest/gtest.h>

#include "fake_agent.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using api_test::FakeAgent;
using nlohmann::json;

json Body(const ApiResponse& response) { return json::parse(response.body); }

TEST(ApiRoutesTest, ProbeAnswersAsUpstream) {
  EXPECT_EQ(ProbeResponse(ProbeOutcome::Updating()).body, R"("updating")");
  EXPECT_EQ(ProbeResponse(ProbeOutcome::NoUpdate()).body, R"("no_update")");
  EXPECT_EQ(ProbeResponse(ProbeOutcome::TryAgain(3600)).body, R"({"try_again":3600})");
  const ApiResponse busy = ProbeResponse(ProbeOutcome::Busy("download"));
  EXPECT_EQ(busy.status, 200);
  EXPECT_EQ(busy.body, R"("download")");
  const ApiResponse failed = ProbeResponse(ProbeOutcome::Failed("dns error"));
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(Body(failed), (json{{"error", "probe failed: dns error"}}));
}

TEST(ApiRoutesTest, InstallAndAbortAnswerAsUpstream) {
  const ApiResponse accepted = InstallResponse(InstallOutcome::Accepted("park"));
  EXPECT_EQ(accepted.status, 200);
  EXPECT_EQ(accepted.body, R"("park")");
  const ApiResponse busy = InstallResponse(InstallOutcome::Busy("install"));
  EXPECT_EQ(busy.status, 406);
  EXPECT_EQ(busy.body, R"("install")");
  EXPECT_EQ(AbortDownloadResponse(true).status, 200);
  EXPECT_EQ(AbortDownloadResponse(true).body,
            R"({"message":"request accepted, download aborted"})");
  EXPECT_EQ(AbortDownloadResponse(false).status, 406);
  EXPECT_EQ(AbortDownloadResponse(false).body, R"({"error":"there is no download to be aborted"})");
}

TEST(ApiRoutesTest, ProbeBodies) {
  EXPECT_EQ(ParseProbeRequest("").value(), std::nullopt);
  EXPECT_EQ(ParseProbeRequest(" \r\n").value(), std::nullopt);
  EXPECT_EQ(ParseProbeRequest("{}").value(), std::nullopt);
  EXPECT_EQ(ParseProbeRequest(R"({"custom_server": "http://example.com:8080"})").value(),
            "http://example.com:8080");
  for (const char* bad :
       {"{", "[]", "\"x\"", "null", R"({"custom_server": 1})", R"({"custom_server": "ftp://x"})",
        R"({"custom_server": "x", "y": 1})", R"({"server": "http://x"})",
        R"({"custom_server": "http://a b"})", "{\"custom_server\": \"http://\xff\"}"}) {
    EXPECT_FALSE(ParseProbeRequest(bad)) << bad;
  }
}

TEST(ApiRoutesTest, LocalInstallBodies) {
  uh::testing::TempDir dir;
  const auto package = dir / "update.uhupkg";
  uh::testing::WriteFile(package, "pkg");
  const std::string good = json{{"file", package.string()}}.dump();
  EXPECT_EQ(ParseLocalInstallRequest(good).value(), package);

  const auto missing = ParseLocalInstallRequest(json{{"file", (dir / "nope").string()}}.dump());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("no such file"), std::string::npos);
  EXPECT_FALSE(ParseLocalInstallRequest(json{{"file", dir.path().string()}}.dump()));  // a dir
  EXPECT_FALSE(ParseLocalInstallRequest(R"({"file": "update.uhupkg"})"));              // relative
  EXPECT_FALSE(ParseLocalInstallRequest(R"({"file": ""})"));
  EXPECT_FALSE(ParseLocalInstallRequest(R"({"file": 5})"));
  EXPECT_FALSE(ParseLocalInstallRequest(R"({"file": ["/x"]})"));
  EXPECT_FALSE(ParseLocalInstallRequest(R"({})"));
  EXPECT_FALSE(ParseLocalInstallRequest(""));
  EXPECT_FALSE(ParseLocalInstallRequest(good.substr(0, good.size() - 1) + R"(,"extra":1})"));
  EXPECT_FALSE(ParseLocalInstallRequest(R"({"file": "/a", "file": "/b"})"));  // duplicate key
}

// Caught by fuzz/local_api_fuzz's check of what the agent is asked (reproducer:
// fuzz/regressions/local-api-nul-in-install-path): a path with an escaped NUL passed as the file
// before the NUL, which exists, so the agent was asked to install a path that names another file
// than the one it opens.
TEST(ApiRoutesTest, LocalInstallPathWithNulIsRefused) {
  uh::testing::TempDir dir;
  const auto package = dir / "update.uhupkg";
  uh::testing::WriteFile(package, "pkg");
  const auto parsed = ParseLocalInstallRequest(
      json{{"file", package.string() + std::string(1, '\0') + ".x"}}.dump());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(parsed.error().message().find("NUL"), std::string::npos);
}

TEST(ApiRoutesTest, RemoteInstallBodies) {
  EXPECT_EQ(ParseRemoteInstallRequest(R"({"url": "https://example.com/u.uhupkg"})").value(),
            "https://example.com/u.uhupkg");
  EXPECT_EQ(ParseRemoteInstallRequest(R"({"url": "http://10.0.0.1:8000"})").value(),
            "http://10.0.0.1:8000");
  for (const char* bad :
       {R"({"url": "file:///etc/passwd"})", R"({"url": "https://"})", R"({"url": "http:///path"})",
        R"({"url": "/tmp/x"})", R"({"url": null})", R"({"uri": "http://x"})", "not json"}) {
    EXPECT_FALSE(ParseRemoteInstallRequest(bad)) << bad;
  }
}

TEST(ApiRoutesTest, RoutesByPathAndMethod) {
  FakeAgent agent;
  LogBuffer log;
  log.Add(spdlog::level::info, "hello");

  auto info = HandleApiRequest({"GET", "/info", ""}, agent, log);
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(Body(info), agent.info);
  auto log_reply = HandleApiRequest({"GET", "/log?x=1", ""}, agent, log);
  EXPECT_EQ(Body(log_reply), log.ToJson());

  auto not_found = HandleApiRequest({"GET", "/nope", ""}, agent, log);
  EXPECT_EQ(not_found.status, 404);
  auto wrong_method = HandleApiRequest({"GET", "/probe", ""}, agent, log);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.allow, "POST");
  EXPECT_EQ(HandleApiRequest({"POST", "/info", ""}, agent, log).allow, "GET");
  EXPECT_EQ(HandleApiRequest({"POST", "/update/download/abort/", ""}, agent, log).status, 404);

  auto bad = HandleApiRequest({"POST", "/remote_install", "{"}, agent, log);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Body(bad)["error"].is_string());
  EXPECT_EQ(agent.calls(), (std::vector<std::string>{"info"}));
}

TEST(ApiRoutesTest, NeverSendsInvalidUtf8FromTheDaemon) {
  FakeAgent agent;
  agent.info = {{"state", "park"}, {"version", "\xff"}};
  LogBuffer log;
  const auto reply = HandleApiRequest({"GET", "/info", ""}, agent, log);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(Body(reply)["version"], "\xef\xbf\xbd");
}

}  // namespace
}  // namespace uh::agent
