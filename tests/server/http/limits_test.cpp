// Limits per client address (connections, request rate) and a disk that fills during an upload.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "server/http/http_test_client.hpp"
#include "server/http/rate_limit.hpp"
#include "server/http/server_fixture.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string GetRequest(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

TEST(KeyedRateLimiterTest, SpendsTheBurstThenRefillsAtTheRate) {
  KeyedRateLimiter limiter({.per_second = 2, .burst = 3, .max_keys = 10});
  const std::chrono::nanoseconds t0 = 100s;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Take("a", t0)) << i;
  const auto wait = limiter.Take("a", t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 1s);                         // Retry-After is whole seconds, at least one
  EXPECT_FALSE(limiter.Take("b", t0));          // another key has its own bucket
  EXPECT_FALSE(limiter.Take("a", t0 + 500ms));  // one token back after 1/rate
  EXPECT_TRUE(limiter.Take("a", t0 + 500ms));
}

TEST(KeyedRateLimiterTest, ZeroRateIsNoLimit) {
  KeyedRateLimiter limiter({.per_second = 0, .burst = 1, .max_keys = 1});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.Take(std::to_string(i), 0s));
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(KeyedRateLimiterTest, KeepsAtMostMaxKeys) {
  KeyedRateLimiter limiter({.per_second = 1, .burst = 2, .max_keys = 64});
  for (int i = 0; i < 10000; ++i) {
    (void)limiter.Take("10.0.0." + std::to_string(i), std::chrono::seconds(i / 100));
    ASSERT_LE(limiter.size(), 64u);
  }
  // When the table is full, keys whose bucket has filled up again go; one in use stays.
  KeyedRateLimiter busy({.per_second = 1, .burst = 2, .max_keys = 8});
  ASSERT_FALSE(busy.Take("busy", 0s));
  ASSERT_FALSE(busy.Take("busy", 0s));
  for (int i = 0; i < 7; ++i) ASSERT_FALSE(busy.Take(std::to_string(i), 0s));
  ASSERT_EQ(busy.size(), 8u);
  ASSERT_FALSE(busy.Take("late", 1500ms));  // the seven others are full again: dropped
  EXPECT_EQ(busy.size(), 2u);
  EXPECT_FALSE(busy.Take("busy", 1500ms));  // 1.5 tokens refilled...
  EXPECT_TRUE(busy.Take("busy", 1500ms));   // ...not a fresh bucket's 2
}

TEST(ConnectionsPerAddressTest, CountsUpToTheMaximumAndForgetsClosedAddresses) {
  ConnectionsPerAddress counts(2);
  EXPECT_TRUE(counts.Open("a"));
  EXPECT_TRUE(counts.Open("a"));
  EXPECT_FALSE(counts.Open("a"));
  EXPECT_TRUE(counts.Open("b"));
  counts.Close("a");
  EXPECT_TRUE(counts.Open("a"));
  counts.Close("a");
  counts.Close("a");
  EXPECT_EQ(counts.Count("a"), 0u);
  counts.Close("never-opened");  // harmless
  ConnectionsPerAddress unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.Open("a"));
}

class LimitsTest : public ServerFixture {
 protected:
  void Start() {
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router->Add(
        Method::kPost, "/upload",
        [](Request& request) {
          return Response::Json(200, {{"size", std::filesystem::file_size(request.body_file)}});
        },
        RouteOptions{.body_to_file = true, .max_file_body_bytes = 64 << 20});
    options_.on_refused = [this](ServerOptions::Refusal refusal) {
      const std::lock_guard lock(mutex_);
      ++refused_[static_cast<int>(refusal)];
    };
    StartServer(router);
  }
  int Refused(ServerOptions::Refusal refusal) {
    const std::lock_guard lock(mutex_);
    return refused_[static_cast<int>(refusal)];
  }
  // Polls: the session removes the temporary file as it winds down.
  bool UploadsBecomeEmpty() {
    for (int i = 0; i < 150 && !UploadsEmpty(); ++i) std::this_thread::sleep_for(20ms);
    return UploadsEmpty();
  }

  std::mutex mutex_;
  int refused_[2] = {0, 0};
};

TEST_F(LimitsTest, OneAddressGetsOnlyItsShareOfConnections) {
  options_.max_connections_per_address = 2;
  Start();
  auto first = std::make_unique<RawConnection>(port());
  RawConnection second(port());
  ASSERT_TRUE(first->Send(GetRequest("/hello")));
  ASSERT_TRUE(second.Send(GetRequest("/hello")));
  ASSERT_EQ(StatusOf(first->ReadResponse()), 200);
  ASSERT_EQ(StatusOf(second.ReadResponse()), 200);
  RawConnection third(port());  // answered and closed without a request being read
  const auto refused = third.ReadUntilClosed(3s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(StatusOf(*refused), 429);
  EXPECT_THAT(*refused, HasSubstr("Retry-After: 1"));
  EXPECT_THAT(*refused, HasSubstr("too many connections from this address"));
  EXPECT_EQ(Refused(ServerOptions::Refusal::kConnection), 1);
  // A closed connection frees its place.
  first.reset();
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    std::this_thread::sleep_for(20ms);
    status = static_cast<int>(Fetch(Url("/hello")).status);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(LimitsTest, RequestsOverTheAddressRateGet429WithRetryAfter) {
  options_.requests_per_second_per_address = 0.5;
  options_.request_burst_per_address = 3;
  Start();
  RawConnection connection(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(connection.Send(GetRequest("/hello")));
    ASSERT_EQ(StatusOf(connection.ReadResponse()), 200) << i;
  }
  ASSERT_TRUE(connection.Send(GetRequest("/hello")));
  const std::string refused = connection.ReadResponse();
  EXPECT_EQ(StatusOf(refused), 429);
  EXPECT_THAT(refused, HasSubstr("Retry-After: 2"));
  EXPECT_THAT(BodyOf(refused), HasSubstr("too many requests from this address"));
  // The connection stays usable: a refused request without a body costs nothing more.
  ASSERT_TRUE(connection.Send(GetRequest("/hello")));
  EXPECT_EQ(StatusOf(connection.ReadResponse()), 429);
  EXPECT_EQ(Refused(ServerOptions::Refusal::kRequest), 2);
}

TEST_F(LimitsTest, DefaultsAreGenerous) {
  Start();
  for (int i = 0; i < 300; ++i) ASSERT_EQ(Fetch(Url("/hello")).status, 200) << i;
  EXPECT_EQ(Refused(ServerOptions::Refusal::kRequest), 0);
}

// The upload outgrows what the process may write (RLIMIT_FSIZE: EFBIG, as a full disk gives
// ENOSPC): 507 with the reason, and the partial temporary file is gone.
TEST_F(LimitsTest, UploadThatCannotBeStoredIs507AndLeavesNoFile) {
  Start();
  const std::string body = uh::testing::RandomBytes(2 << 20, 3);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 256 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto answer = Fetch(Url("/upload"), {.method = "POST", .body = body});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(answer.status, 507) << answer.error;
  EXPECT_THAT(answer.body, HasSubstr("insufficient storage"));
  EXPECT_TRUE(UploadsBecomeEmpty());
  // The server goes on.
  EXPECT_EQ(Fetch(Url("/upload"), {.method = "POST", .body = body}).status, 200);
}

// The same with a disk that is really full: the uploads directory on a 1 MiB tmpfs.
TEST_F(LimitsTest, UploadOntoAFullDiskIs507AndLeavesNoFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (CI runs as root)";
  if (::mount("tmpfs", uploads_.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  struct Unmount {
    std::filesystem::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{uploads_};
  Start();
  auto answer =
      Fetch(Url("/upload"), {.method = "POST", .body = uh::testing::RandomBytes(3 << 20, 4)});
  EXPECT_EQ(answer.status, 507) << answer.error;
  EXPECT_THAT(answer.body, HasSubstr("insufficient storage"));
  EXPECT_THAT(answer.body, HasSubstr("space"));
  EXPECT_TRUE(UploadsBecomeEmpty());
  EXPECT_EQ(Fetch(Url("/upload"), {.method = "POST", .body = "small"}).status, 200);
  server_->Stop();
}

}  // namespace
}  // namespace uh::server::http::testing
