// The server over real sockets: routing, headers, keep-alive, limits and hostile clients.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>
#include <thread>

#include "server/http/http_test_client.hpp"
#include "server/http/server_fixture.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/hello",
                [](Request&) { return Response::Text(200, "hello").SetHeader("X-Hello", "1"); });
    router->Add(Method::kGet, "/items/{id}", [](Request& request) {
      return Response::Json(200, {{"id", request.Param("id")},
                                  {"q", request.query["q"]},
                                  {"agent", request.Header("User-Agent")}});
    });
    router->Add(Method::kGet, "/files/{path...}", [](Request& request) {
      return Response::Json(200, {{"path", request.Param("path")}});
    });
    router->Add(
        Method::kPost, "/echo", [](Request& request) { return Response::Text(200, request.body); },
        RouteOptions{.max_body_bytes = 1024});
    router->Add(Method::kGet, "/throw",
                [](Request&) -> Response { throw std::runtime_error("boom"); });
    router_ = router;
  }

  void Start() { StartServer(router_); }

  std::shared_ptr<const Router> router_;
};

std::string Get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

TEST_F(ServerTest, ServesTextAndJsonWithHeaders) {
  Start();
  auto hello = Fetch(Url("/hello"));
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello");
  EXPECT_EQ(hello.headers["x-hello"], "1");
  EXPECT_EQ(hello.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(hello.headers["content-length"], "5");

  auto item = Fetch(Url("/items/a%20b?q=x%2By+z&other"), {.headers = {"User-Agent: tester/1"}});
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(item.headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(item.body),
            nlohmann::json({{"id", "a b"}, {"q", "x+y z"}, {"agent", "tester/1"}}));

  auto rest = Fetch(Url("/files/a/b%20c/d.txt"));
  EXPECT_EQ(nlohmann::json::parse(rest.body)["path"], "a/b c/d.txt");
}

TEST_F(ServerTest, AnswersUnknownPathsAndMethodsWithJsonErrors) {
  Start();
  auto missing = Fetch(Url("/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body), nlohmann::json({{"error", "not found"}}));

  auto wrong = Fetch(Url("/hello"), {.method = "DELETE"});
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "GET, HEAD");
  EXPECT_THAT(wrong.body, HasSubstr("method not allowed"));
}

TEST_F(ServerTest, HeadUsesTheGetRouteWithoutBody) {
  Start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.Send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  const auto head = connection.ReadResponse(5s, /*head=*/true);
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_THAT(head, HasSubstr("Content-Length: 5\r\n"));
  EXPECT_EQ(BodyOf(head), "");
  // The connection is still in sync: the next answer is the GET's, body and all.
  ASSERT_TRUE(connection.Send(Get("/hello")));
  EXPECT_EQ(BodyOf(connection.ReadResponse()), "hello");
}

TEST_F(ServerTest, RefusesTraversalAndEncodedSlashes) {
  Start();
  for (const char* target :
       {"/files/a/../b", "/files/%2e%2e/etc/passwd", "/files/./a", "/items/..", "/items/a%2Fb",
        "/items/%2F..%2F", "/items/%00", "/items/%zz", "*", "http://host/hello"}) {
    RawConnection connection(port());
    ASSERT_TRUE(connection.Send(Get(target)));
    const auto response = connection.ReadResponse();
    EXPECT_EQ(StatusOf(response), 400) << target << ": " << response;
  }
}

TEST_F(ServerTest, KeepsTheConnectionAlive) {
  Start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.Send(Get("/hello")));
  EXPECT_EQ(BodyOf(connection.ReadResponse()), "hello");
  ASSERT_TRUE(connection.Send(Get("/items/2")));
  const auto second = connection.ReadResponse();
  EXPECT_EQ(StatusOf(second), 200);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(second))["id"], "2");
  // Pipelined, the last one asking to close.
  ASSERT_TRUE(connection.Send(Get("/items/3") + Get("/items/4", "Connection: close\r\n")));
  EXPECT_THAT(connection.ReadResponse(), HasSubstr("\"3\""));
  const auto last = connection.ReadResponse();
  EXPECT_THAT(last, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(connection.ReadUntilClosed(2s), "");
}

TEST_F(ServerTest, GarbageGets400AndTheConnectionClosed) {
  Start();
  const std::string garbages[] = {
      "\x01\x02\x03 garbage\r\n\r\n",
      "GET\r\n\r\n",
      "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
      "GET /hello HTTP/1.1\r\nHost: a" + std::string(1, '\0') + "b\r\n\r\n",
  };
  for (const std::string& garbage : garbages) {
    RawConnection connection(port());
    ASSERT_TRUE(connection.Send(garbage));
    const auto closed = connection.ReadUntilClosed(3s);
    ASSERT_TRUE(closed) << garbage;
    EXPECT_EQ(StatusOf(*closed), 400) << garbage << ": " << *closed;
  }
  EXPECT_EQ(Fetch(Url("/hello")).status, 200);
}

TEST_F(ServerTest, OversizedHeaderGets431) {
  options_.max_header_bytes = 4096;
  Start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.Send(Get("/hello", "X-Big: " + std::string(8192, 'a') + "\r\n")));
  const auto closed = connection.ReadUntilClosed(3s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(StatusOf(*closed), 431);
}

TEST_F(ServerTest, DisconnectsClientsTooSlowToSendTheirHeader) {
  options_.header_timeout = 1s;
  Start();
  RawConnection connection(port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(connection.Send("GET /hello HTTP/1.1\r\nHost: slow\r\n"));  // never finished
  ASSERT_TRUE(connection.ReadUntilClosed(4s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(ServerTest, HandlerExceptionIs500AndTheServerKeepsServing) {
  Start();
  auto failed = Fetch(Url("/throw"));
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(nlohmann::json::parse(failed.body), nlohmann::json({{"error", "internal error"}}));
  EXPECT_EQ(Fetch(Url("/hello")).status, 200);
}

TEST_F(ServerTest, LimitsInMemoryBodies) {
  Start();
  auto fits = Fetch(Url("/echo"), {.method = "POST", .body = std::string(1024, 'a')});
  EXPECT_EQ(fits.status, 200);
  EXPECT_EQ(fits.body.size(), 1024u);
  auto too_big = Fetch(Url("/echo"), {.method = "POST", .body = std::string(1025, 'a')});
  EXPECT_EQ(too_big.status, 413);
  auto much_too_big = Fetch(Url("/echo"), {.method = "POST", .body = std::string(3 << 20, 'a')});
  EXPECT_EQ(much_too_big.status, 413);
}

TEST_F(ServerTest, AnnouncedOversizedBodyIs413WithoutReadingIt) {
  Start();
  RawConnection connection(port());
  ASSERT_TRUE(
      connection.Send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000000\r\n\r\n"));
  const auto response = connection.ReadResponse(2s);
  EXPECT_EQ(StatusOf(response), 413);
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
  Start();
  RawConnection connection(port());
  ASSERT_TRUE(connection.Send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "400\r\n" +
      std::string(1024, 'a') + "\r\n10\r\n" + std::string(16, 'b') + "\r\n0\r\n\r\n"));
  EXPECT_EQ(StatusOf(connection.ReadResponse()), 413);

  RawConnection fits(port());
  ASSERT_TRUE(
      fits.Send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  EXPECT_EQ(BodyOf(fits.ReadResponse()), "hello world");
}

TEST_F(ServerTest, ReportsEachResponse) {
  std::mutex mutex;
  std::vector<std::pair<std::string, int>> seen;
  options_.on_response = [&](const Request& request, int status, std::uint64_t bytes) {
    const std::lock_guard lock(mutex);
    EXPECT_GT(bytes, 0u);
    seen.emplace_back(request.target, status);
  };
  Start();
  ASSERT_EQ(Fetch(Url("/hello")).status, 200);
  ASSERT_EQ(Fetch(Url("/missing")).status, 404);
  server_->Stop();  // on_response runs after the write; stopping orders it before the check
  const std::lock_guard lock(mutex);
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(::testing::Pair("/hello", 200),
                                                    ::testing::Pair("/missing", 404)));
}

TEST_F(ServerTest, StopsPromptlyRightAfterServing) {
  // Stop races the last handler of a closing connection. Losing that race once left the
  // io_context without work, so it stopped running handlers and Stop sat out its whole grace.
  for (int i = 0; i < 30; ++i) {
    Start();
    RawConnection connection(port());
    ASSERT_TRUE(connection.Send(Get("/hello", "Connection: close\r\n")));
    ASSERT_TRUE(connection.ReadUntilClosed(2s));
    const auto start = std::chrono::steady_clock::now();
    server_->Stop(10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  }
}

TEST_F(ServerTest, RefusesConnectionsBeyondTheLimit) {
  options_.max_connections = 1;
  Start();
  auto first = std::make_unique<RawConnection>(port());
  ASSERT_TRUE(first->Send(Get("/hello")));
  ASSERT_EQ(StatusOf(first->ReadResponse()), 200);  // accepted and counted
  RawConnection second(port());
  const auto refused = second.ReadUntilClosed(3s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(StatusOf(*refused), 503);
  first.reset();
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    std::this_thread::sleep_for(20ms);
    status = static_cast<int>(Fetch(Url("/hello")).status);
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace uh::server::http::testing
