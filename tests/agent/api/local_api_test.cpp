#include "agent/api/local_api.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "fake_agent.hpp"
#include "raw_http.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using api_test::Exchange;
using api_test::FakeAgent;
using api_test::MakeRequest;
using api_test::RawConnection;
using api_test::RawReply;
using nlohmann::json;
using namespace std::chrono_literals;

class LocalApiTest : public ::testing::Test {
 protected:
  void StartServer(LocalApiOptions options = {}) {
    auto started = LocalApiServer::Start("localhost:0", agent_, log_, options);
    ASSERT_TRUE(started) << started.error().message();
    server_ = std::move(*started);
    ASSERT_NE(server_->port(), 0);
  }

  void SetUp() override { StartServer(); }

  RawReply Send(std::string_view method, std::string_view path, std::string_view body = {}) {
    return Exchange(server_->port(), MakeRequest(method, path, body));
  }

  // The reply's body as JSON (null when it is not JSON).
  static json BodyOf(const RawReply& reply) { return json::parse(reply.body, nullptr, false); }

  void ExpectStillServing() {
    const RawReply reply = Send("GET", "/info");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(BodyOf(reply), agent_.info);
  }

  FakeAgent agent_;
  LogBuffer log_;
  std::unique_ptr<LocalApiServer> server_;
};

TEST_F(LocalApiTest, InfoPassesTheDaemonsJsonThrough) {
  agent_.info = {{"state", "poll"}, {"version", "2.1.6"}, {"config", {{"polling", {}}}}};
  const RawReply reply = Send("GET", "/info");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.head.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(BodyOf(reply), agent_.info);
}

TEST_F(LocalApiTest, LogServesTheBuffer) {
  log_.Add(spdlog::level::info, "probing", {{"server", "https://api.updatehub.io"}});
  log_.Add(spdlog::level::err, "failed");
  const RawReply reply = Send("GET", "/log");
  EXPECT_EQ(reply.status, 200);
  const json body = BodyOf(reply);
  EXPECT_EQ(body, log_.ToJson());
  ASSERT_EQ(body["entries"].size(), 2u);
  EXPECT_EQ(body["entries"][1]["level"], "error");
  EXPECT_EQ(body["first_index"], 0);
}

TEST_F(LocalApiTest, ProbeAnswersEveryOutcome) {
  struct Case {
    ProbeOutcome outcome;
    int status;
    json body;
  };
  const std::vector<Case> cases = {
      {ProbeOutcome::Updating(), 200, "updating"},
      {ProbeOutcome::NoUpdate(), 200, "no_update"},
      {ProbeOutcome::TryAgain(3600), 200, {{"try_again", 3600}}},
      {ProbeOutcome::Busy("download"), 200, "download"},
      {ProbeOutcome::Failed("dns error"), 500, {{"error", "probe failed: dns error"}}},
  };
  for (const Case& c : cases) {
    agent_.probe = c.outcome;
    const RawReply reply = Send("POST", "/probe");
    EXPECT_EQ(reply.status, c.status) << c.body;
    EXPECT_EQ(BodyOf(reply), c.body);
  }
  EXPECT_EQ(agent_.calls().size(), cases.size());
  EXPECT_EQ(agent_.calls().front(), "probe -");
}

TEST_F(LocalApiTest, ProbeTakesACustomServer) {
  const RawReply reply =
      Send("POST", "/probe", R"({"custom_server": "http://different-address:8080"})");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(agent_.calls(), std::vector<std::string>{"probe http://different-address:8080"});
}

TEST_F(LocalApiTest, LocalInstallAcceptsOrRefuses) {
  uh::testing::TempDir dir;
  const auto package = dir / "update.uhupkg";
  uh::testing::WriteFile(package, "package");
  const std::string body = json{{"file", package.string()}}.dump();

  RawReply reply = Send("POST", "/local_install", body);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(BodyOf(reply), "park");

  agent_.install = InstallOutcome::Busy("install");
  reply = Send("POST", "/local_install", body);
  EXPECT_EQ(reply.status, 406);
  EXPECT_EQ(BodyOf(reply), "install");

  reply = Send("POST", "/local_install", json{{"file", (dir / "missing").string()}}.dump());
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(BodyOf(reply)["error"].get<std::string>().find("no such file"), std::string::npos);

  reply = Send("POST", "/local_install", R"({"file": "relative.uhupkg"})");
  EXPECT_EQ(reply.status, 400);

  EXPECT_EQ(agent_.calls(), (std::vector<std::string>{"local_install " + package.string(),
                                                      "local_install " + package.string()}));
}

TEST_F(LocalApiTest, RemoteInstallAcceptsOrRefuses) {
  const std::string body = R"({"url": "https://example.com/update.uhupkg"})";
  agent_.install = InstallOutcome::Accepted("entry_point");
  RawReply reply = Send("POST", "/remote_install", body);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(BodyOf(reply), "entry_point");

  agent_.install = InstallOutcome::Busy("download");
  reply = Send("POST", "/remote_install", body);
  EXPECT_EQ(reply.status, 406);
  EXPECT_EQ(BodyOf(reply), "download");

  reply = Send("POST", "/remote_install", R"({"url": "file:///etc/shadow"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(agent_.calls().size(), 2u);
}

TEST_F(LocalApiTest, AbortDownloadAnswersBothWays) {
  RawReply reply = Send("POST", "/update/download/abort");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(BodyOf(reply), (json{{"message", "request accepted, download aborted"}}));

  agent_.abort_result = false;
  reply = Send("POST", "/update/download/abort");
  EXPECT_EQ(reply.status, 406);
  EXPECT_EQ(BodyOf(reply), (json{{"error", "there is no download to be aborted"}}));
}

TEST_F(LocalApiTest, UnknownRouteIs404AndWrongMethodIs405) {
  RawReply reply = Send("GET", "/nothing/here");
  EXPECT_EQ(reply.status, 404);
  EXPECT_TRUE(BodyOf(reply)["error"].is_string());

  reply = Send("GET", "/probe");
  EXPECT_EQ(reply.status, 405);
  EXPECT_NE(reply.head.find("Allow: POST"), std::string::npos);
  EXPECT_EQ(Send("DELETE", "/info").status, 405);
  EXPECT_EQ(Send("POST", "/log").status, 405);
  EXPECT_TRUE(agent_.calls().empty());
}

TEST_F(LocalApiTest, MalformedAndMistypedBodiesAre400) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/probe", "{"},
      {"/probe", R"({"custom_server": 42})"},
      {"/probe", "[\"http://x\"]"},
      {"/local_install", ""},
      {"/local_install", R"({"file": true})"},
      {"/local_install", "{\"file\": \"/tmp/\xff\"}"},
      {"/remote_install", R"({"url": {"href": "http://x"}})"},
      {"/remote_install", std::string(40, '[')},
      {"/remote_install", std::string(1000, '[') + std::string(1000, ']')},
  };
  for (const auto& [path, body] : cases) {
    const RawReply reply = Send("POST", path, body);
    EXPECT_EQ(reply.status, 400) << path << " " << body;
    EXPECT_TRUE(BodyOf(reply)["error"].is_string()) << reply.body;
  }
  EXPECT_TRUE(agent_.calls().empty());
  ExpectStillServing();
}

TEST_F(LocalApiTest, HugeBodyIs413AndTheServerKeepsServing) {
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.Send(
        "POST /local_install HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
        std::string(1024, 'a')));
    const RawReply reply = connection.ReadReply(10s);
    EXPECT_EQ(reply.status, 413);
  }
  {
    // Chunked: the limit is only seen mid-body.
    RawConnection connection(server_->port());
    std::string request = "POST /probe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(16 * 1024, 'b');
    for (int i = 0; i < 6; ++i) request += "4000\r\n" + chunk + "\r\n";
    (void)connection.Send(request);
    const RawReply reply = api_test::ParseRawReply(connection.ReadAll(10s));
    EXPECT_EQ(reply.status, 413);
  }
  {
    RawConnection connection(server_->port());
    (void)connection.Send("GET /info HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'h') +
                          "\r\n\r\n");
    const RawReply reply = api_test::ParseRawReply(connection.ReadAll(10s));
    EXPECT_EQ(reply.status, 431);
  }
  EXPECT_TRUE(agent_.calls().empty());
  ExpectStillServing();
}

TEST_F(LocalApiTest, GarbageBytesAre400AndTheServerKeepsServing) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const RawReply reply =
        Exchange(server_->port(), uh::testing::RandomBytes(2000, seed) + "\r\n\r\n", 5s);
    EXPECT_TRUE(reply.status == 400 || reply.status == 0) << reply.status;
  }
  EXPECT_EQ(Exchange(server_->port(), "GET /info HTTP/9.9\r\n\r\n").status, 400);
  EXPECT_EQ(Exchange(server_->port(), "\r\n\r\n\r\n").status, 400);
  EXPECT_TRUE(agent_.calls().empty());
  ExpectStillServing();
}

TEST_F(LocalApiTest, AStalledClientIsDroppedAndDoesNotBlockOthers) {
  server_.reset();
  StartServer(LocalApiOptions{.request_timeout = 300ms,
                              .max_body_bytes = kMaxApiBodyBytes,
                              .max_header_bytes = 8 * 1024,
                              .max_connections = 8});
  RawConnection stalled(server_->port());
  ASSERT_TRUE(stalled.Send("POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  RawConnection silent(server_->port());  // connects and never sends a byte

  const auto start = std::chrono::steady_clock::now();
  ExpectStillServing();  // answered while the other two hang
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  EXPECT_TRUE(stalled.ClosedWithin(5s));
  EXPECT_TRUE(silent.ClosedWithin(5s));
  EXPECT_TRUE(agent_.calls() == std::vector<std::string>{"info"});
  ExpectStillServing();
}

TEST_F(LocalApiTest, KeepsAConnectionAliveBetweenRequests) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(
      connection.Send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /update/download/abort HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 0\r\n\r\n"));
  const RawReply first = connection.ReadReply(5s);
  const RawReply second = connection.ReadReply(5s);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(agent_.calls(), (std::vector<std::string>{"info", "abort"}));
}

TEST_F(LocalApiTest, AnswersExpect100ContinueBeforeTheBody) {
  RawConnection connection(server_->port());
  const std::string body = R"({"url": "https://example.com/update.uhupkg"})";
  ASSERT_TRUE(
      connection.Send("POST /remote_install HTTP/1.1\r\nHost: x\r\n"
                      "Expect: 100-continue\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n"));
  EXPECT_EQ(connection.ReadReply(5s).status, 100);
  ASSERT_TRUE(connection.Send(body));
  const RawReply reply = connection.ReadReply(5s);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(BodyOf(reply), "park");
}

TEST_F(LocalApiTest, TheLogIsServedWhileAProbeRuns) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> probing;
  agent_.during_probe = [&] {
    probing.set_value();
    released.wait();
  };
  agent_.probe = ProbeOutcome::Updating();
  log_.Add(spdlog::level::info, "probing");

  auto probe = std::async(std::launch::async, [&] { return Send("POST", "/probe"); });
  probing.get_future().wait();
  // A daemon call that must wait for the probe: sent whole before the log is asked for, so the
  // server thread has read it and queued it for the daemon by the time the log is answered.
  RawConnection info(server_->port());
  ASSERT_TRUE(info.Send(MakeRequest("GET", "/info")));
  const RawReply log_reply = Send("GET", "/log");  // not behind the probe
  EXPECT_EQ(log_reply.status, 200);
  EXPECT_EQ(BodyOf(log_reply)["entries"][0]["message"], "probing");
  // The daemon's turn comes later: its one call at a time is the probe's.
  EXPECT_EQ(agent_.calls(), std::vector<std::string>{"probe -"});

  release.set_value();
  EXPECT_EQ(BodyOf(probe.get()), "updating");
  EXPECT_EQ(info.ReadReply(5s).status, 200);
  EXPECT_EQ(agent_.calls(), (std::vector<std::string>{"probe -", "info"}));
}

TEST_F(LocalApiTest, StopWaitsForADaemonCallInProgress) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> probing;
  std::atomic<bool> probe_returned = false;
  agent_.during_probe = [&] {
    probing.set_value();
    released.wait();
    probe_returned = true;
  };
  auto probe = std::async(std::launch::async, [&] { return Send("POST", "/probe"); });
  probing.get_future().wait();
  const auto port = server_->port();
  // The probe is let go once Stop is under way, which closes the port first.
  auto releaser = std::async(std::launch::async, [&] {
    const bool stopping =
        uh::testing::WaitUntil([&] { return !RawConnection(port).connected(); }, 10s, 5ms);
    release.set_value();
    return stopping;
  });
  server_->Stop();
  const bool returned_first = !probe_returned;
  EXPECT_TRUE(releaser.get()) << "Stop never closed the port";
  EXPECT_FALSE(returned_first) << "Stop returned while the daemon was still in its probe";
  EXPECT_NE(probe.get().status, 200);  // Stop dropped the answer and closed the connection
}

TEST_F(LocalApiTest, ConnectionsBeyondTheLimitAreClosed) {
  server_.reset();
  StartServer(LocalApiOptions{.request_timeout = 10s,
                              .max_body_bytes = kMaxApiBodyBytes,
                              .max_header_bytes = 8 * 1024,
                              .max_connections = 2});
  // Each idle connection has been accepted once it is answered, and stays open (kept alive).
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 2; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(idle.back()->Send("GET /log HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(idle.back()->ReadReply(5s).status, 200);
  }
  RawConnection extra(server_->port());
  EXPECT_TRUE(extra.ClosedWithin(5s));
  // Once the server has seen the idle ones go, it serves again.
  idle.clear();
  EXPECT_TRUE(uh::testing::WaitUntil(
      [&] { return Exchange(server_->port(), MakeRequest("GET", "/log"), 5s).status == 200; }, 10s,
      10ms));
  ExpectStillServing();
}

TEST_F(LocalApiTest, ADaemonThatThrowsGets500) {
  agent_.throw_on_info = true;
  const RawReply reply = Send("GET", "/info");
  EXPECT_EQ(reply.status, 500);
  agent_.throw_on_info = false;
  ExpectStillServing();
}

TEST_F(LocalApiTest, StopsAndReleasesThePort) {
  const auto port = server_->port();
  auto again = LocalApiServer::Start("127.0.0.1:" + std::to_string(port), agent_, log_);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("bind"), std::string::npos);
  server_->Stop();
  server_->Stop();  // twice is fine
  EXPECT_FALSE(RawConnection(port).connected());
  server_.reset();
  auto restarted = LocalApiServer::Start("127.0.0.1:" + std::to_string(port), agent_, log_);
  ASSERT_TRUE(restarted) << restarted.error().message();
  EXPECT_EQ((*restarted)->port(), port);
}

TEST(ListenAddressTest, ParsesHostAndPort) {
  auto parsed = ParseListenAddress("localhost:8080");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->host, "localhost");
  EXPECT_EQ(parsed->port, 8080);
  EXPECT_EQ(ParseListenAddress("[::1]:0")->host, "::1");
  EXPECT_EQ(ParseListenAddress(":9000")->host, "localhost");
  EXPECT_EQ(ParseListenAddress("0.0.0.0:1")->host, "0.0.0.0");
  for (const char* bad :
       {"localhost", "localhost:", "localhost:65536", "localhost:-1", "localhost:80x", "::1:80"}) {
    EXPECT_FALSE(ParseListenAddress(bad)) << bad;
  }
}

}  // namespace
}  // namespace uh::agent
