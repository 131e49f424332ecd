// Large bodies both ways (streamed uploads, ranged file downloads) and stopping mid-transfer.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "server/http/http_test_client.hpp"
#include "server/http/server_fixture.hpp"

namespace uh::server::http::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::size_t kObjectSize = 5 * 1024 * 1024;

class TransferTest : public ServerFixture {
 protected:
  void SetUp() override {
    object_ = uh::testing::RandomBytes(kObjectSize, 7);
    uh::testing::WriteFile(dir_ / "object", object_);
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/object",
                [this](Request& request) { return FileResponse(request, dir_ / "object"); });
    router->Add(
        Method::kPost, "/upload",
        [this](Request& request) {
          seen_body_file_ = request.body_file;
          std::filesystem::copy_file(request.body_file, dir_ / "received");
          return Response::Json(200, {{"size", std::filesystem::file_size(request.body_file)}});
        },
        RouteOptions{.body_to_file = true, .max_file_body_bytes = 32 << 20});
    router->Add(
        Method::kPost, "/small-upload", [](Request&) { return Response::Text(200, "ok"); },
        RouteOptions{.body_to_file = true, .max_file_body_bytes = 1 << 20});
    router->Add(Method::kGet, "/slow", [](Request&) {
      std::this_thread::sleep_for(400ms);
      return Response::Text(200, "finally");
    });
    StartServer(router);
  }

  // Polls: the session removes the temporary file as it winds down.
  bool UploadsBecomeEmpty() {
    for (int i = 0; i < 150 && !UploadsEmpty(); ++i) std::this_thread::sleep_for(20ms);
    return UploadsEmpty();
  }

  std::string object_;
  std::filesystem::path seen_body_file_;
};

TEST_F(TransferTest, StreamsALargeUploadToATemporaryFile) {
  const std::string data = uh::testing::RandomBytes(20 * 1024 * 1024 + 17, 3);
  uh::testing::WriteFile(dir_ / "to-send", data);
  auto result = Fetch(Url("/upload"), {.method = "POST", .upload = dir_ / "to-send"});
  ASSERT_EQ(result.status, 200) << result.error << result.body;
  EXPECT_EQ(nlohmann::json::parse(result.body)["size"], data.size());
  EXPECT_TRUE(uh::testing::ReadFile(dir_ / "received") == data);
  EXPECT_EQ(seen_body_file_.parent_path(), uploads_);
  EXPECT_TRUE(UploadsBecomeEmpty());
}

TEST_F(TransferTest, FileRoutesEnforceTheirLimit) {
  uh::testing::WriteFile(dir_ / "to-send", std::string(2 << 20, 'x'));
  auto result = Fetch(Url("/small-upload"), {.method = "POST", .upload = dir_ / "to-send"});
  EXPECT_EQ(result.status, 413);

  RawConnection announced(port());
  ASSERT_TRUE(
      announced.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000\r\n\r\n"));
  EXPECT_EQ(StatusOf(announced.ReadResponse()), 413);

  RawConnection chunked(port());  // no Content-Length to check up front: the limit still holds
  ASSERT_TRUE(
      chunked.Send("POST /small-upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
                   "\r\n\r\n100000\r\n" +
                   std::string(1 << 20, 'a') + "\r\n1\r\nb\r\n"));
  EXPECT_EQ(StatusOf(chunked.ReadResponse()), 413);
  EXPECT_TRUE(UploadsBecomeEmpty());
}

TEST_F(TransferTest, RemovesTheTemporaryFileWhenTheClientGoesAway) {
  {
    RawConnection connection(port());
    ASSERT_TRUE(
        connection.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" +
                        std::string(100000, 'a')));
    for (int i = 0; i < 100 && UploadsEmpty(); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(UploadsEmpty());  // the upload was under way
  }
  EXPECT_TRUE(UploadsBecomeEmpty());
}

TEST_F(TransferTest, DownloadsWholeFilesAndRanges) {
  auto whole = Fetch(Url("/object"));
  ASSERT_EQ(whole.status, 200);
  EXPECT_TRUE(whole.body == object_);
  EXPECT_EQ(whole.headers["content-length"], std::to_string(kObjectSize));
  EXPECT_EQ(whole.headers["accept-ranges"], "bytes");
  EXPECT_EQ(whole.headers["content-type"], "application/octet-stream");

  auto middle = Fetch(Url("/object"), {.range = "1000-1999"});
  EXPECT_EQ(middle.status, 206);
  EXPECT_TRUE(middle.body == object_.substr(1000, 1000));
  EXPECT_EQ(middle.headers["content-range"], "bytes 1000-1999/5242880");
  EXPECT_EQ(middle.headers["content-length"], "1000");

  auto tail = Fetch(Url("/object"), {.range = "5000000-"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_TRUE(tail.body == object_.substr(5000000));

  auto suffix = Fetch(Url("/object"), {.range = "-100"});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_TRUE(suffix.body == object_.substr(kObjectSize - 100));

  auto clamped = Fetch(Url("/object"), {.range = "5242800-99999999"});
  EXPECT_EQ(clamped.status, 206);
  EXPECT_EQ(clamped.body.size(), 80u);

  auto beyond = Fetch(Url("/object"), {.range = "6000000-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.headers["content-range"], "bytes */5242880");

  auto invalid = Fetch(Url("/object"), {.headers = {"Range: bytes=9-1"}});
  EXPECT_EQ(invalid.status, 200);
  EXPECT_EQ(invalid.body.size(), kObjectSize);
}

TEST_F(TransferTest, HeadAnnouncesTheSizeWithoutTheBody) {
  RawConnection connection(port());
  ASSERT_TRUE(connection.Send("HEAD /object HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto head = connection.ReadResponse(5s, /*head=*/true);
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_THAT(head, HasSubstr("Content-Length: 5242880\r\n"));
  ASSERT_TRUE(connection.Send("HEAD /object HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n"));
  const auto ranged = connection.ReadResponse(5s, /*head=*/true);
  EXPECT_EQ(StatusOf(ranged), 206);
  EXPECT_THAT(ranged, HasSubstr("Content-Length: 10\r\n"));
  // Nothing else follows: the next response starts right away.
  ASSERT_TRUE(connection.Send("GET /object HTTP/1.1\r\nHost: t\r\nRange: bytes=0-3\r\n\r\n"));
  EXPECT_EQ(BodyOf(connection.ReadResponse()), object_.substr(0, 4));
}

TEST_F(TransferTest, ResumesAtTheLengthAlreadyReceived) {
  auto first = Fetch(Url("/object"), {.range = "0-2621439"});
  ASSERT_EQ(first.status, 206);
  auto rest = Fetch(Url("/object"), {.range = std::to_string(first.body.size()) + "-"});
  ASSERT_EQ(rest.status, 206);
  EXPECT_TRUE(first.body + rest.body == object_);
  // Resuming a complete download asks for nothing that exists.
  EXPECT_EQ(Fetch(Url("/object"), {.range = std::to_string(kObjectSize) + "-"}).status, 416);
}

TEST_F(TransferTest, StopLetsARequestInFlightFinish) {
  auto slow = std::async(std::launch::async, [&] { return Fetch(Url("/slow")); });
  std::this_thread::sleep_for(150ms);  // the handler is running
  const auto start = std::chrono::steady_clock::now();
  server_->Stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto result = slow.get();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "finally");
  EXPECT_EQ(result.headers["connection"], "close");
}

TEST_F(TransferTest, StopClosesIdleConnectionsAtOnce) {
  RawConnection idle(port());
  ASSERT_TRUE(idle.Send("GET /object HTTP/1.1\r\nHost: t\r\nRange: bytes=0-0\r\n\r\n"));
  ASSERT_EQ(StatusOf(idle.ReadResponse()), 206);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(idle.ReadUntilClosed(1s));
  server_->Stop(10s);  // twice is fine
}

TEST_F(TransferTest, StopCutsAStalledDownloadAfterTheGrace) {
  RawConnection stalled(port(), /*receive_buffer=*/16 * 1024);
  ASSERT_TRUE(stalled.Send("GET /object HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(stalled.ReadBytes(1000, 2s).size(), 1000u);  // under way; then we stop reading
  const auto start = std::chrono::steady_clock::now();
  server_->Stop(1s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 4s);
  const auto rest = stalled.ReadUntilClosed(5s);
  ASSERT_TRUE(rest);
  EXPECT_LT(rest->size() + 1000, kObjectSize);  // cut short
}

// Keeps what it is handed; fails once it was handed more than `fail_after` bytes.
class RecordingSink final : public BodySink {
 public:
  explicit RecordingSink(std::size_t fail_after = SIZE_MAX) : fail_after_(fail_after) {}
  Expected<void> Write(std::span<const std::byte> bytes) override {
    received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    ++writes;
    if (received.size() > fail_after_) return Fail(Errc::kNoSpace, "insufficient storage: test");
    return {};
  }
  std::string received;
  std::size_t writes = 0;

 private:
  std::size_t fail_after_;
};

class SinkTest : public ServerFixture {
 protected:
  void SetUp() override {
    options_.body_timeout = 1s;
    auto router = std::make_shared<Router>();
    auto received = [this](Request& request) {
      auto* sink = dynamic_cast<RecordingSink*>(request.body_sink.get());
      if (sink == nullptr) return Response::Error(500, "no sink");
      handled_ = true;
      std::lock_guard lock(mutex_);
      received_ = sink->received;
      return Response::Json(200, {{"size", sink->received.size()}, {"writes", sink->writes}});
    };
    router->Add(
        Method::kPost, "/sink", received,
        RouteOptions{.max_file_body_bytes = 32 << 20,
                     .body_sink = [](const Request&) -> Expected<std::shared_ptr<BodySink>> {
                       return std::make_shared<RecordingSink>();
                     }});
    router->Add(
        Method::kPost, "/failing-sink", received,
        RouteOptions{.max_file_body_bytes = 32 << 20,
                     .body_sink = [](const Request&) -> Expected<std::shared_ptr<BodySink>> {
                       return std::make_shared<RecordingSink>(1 << 20);
                     }});
    router->Add(
        Method::kPost, "/refusing-sink", received,
        RouteOptions{.max_file_body_bytes = 32 << 20,
                     .body_sink = [](const Request&) -> Expected<std::shared_ptr<BodySink>> {
                       return Fail(Errc::kForbidden, "not this one");
                     }});
    StartServer(router);
  }

  std::string Received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

  std::atomic<bool> handled_ = false;
  std::mutex mutex_;
  std::string received_;
};

TEST_F(SinkTest, HandsTheBodyToItsSinkAsItArrivesInLargeReads) {
  const std::string data = uh::testing::RandomBytes(20 * 1024 * 1024 + 17, 4);
  uh::testing::WriteFile(dir_ / "to-send", data);
  auto result = Fetch(Url("/sink"), {.method = "POST", .upload = dir_ / "to-send"});
  ASSERT_EQ(result.status, 200) << result.error << result.body;
  auto answer = nlohmann::json::parse(result.body);
  EXPECT_EQ(answer["size"], data.size());
  // Not 512 bytes a read (Beast's first buffer on a new connection): 64 KiB at most, and far
  // fewer pieces than 40,000.
  EXPECT_LT(answer["writes"].get<std::size_t>(), 20u * 1024 * 1024 / 4096);
  EXPECT_TRUE(Received() == data);
  EXPECT_TRUE(UploadsEmpty());  // no temporary file

  RawConnection chunked(port());
  ASSERT_TRUE(
      chunked.Send("POST /sink HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  const auto response = chunked.ReadResponse();
  EXPECT_EQ(StatusOf(response), 200) << response;
  EXPECT_EQ(Received(), "hello world");
}

TEST_F(SinkTest, ASinkErrorIsTheAnswerAndTheHandlerNeverRuns) {
  uh::testing::WriteFile(dir_ / "to-send", std::string(4 << 20, 'x'));
  auto failing = Fetch(Url("/failing-sink"), {.method = "POST", .upload = dir_ / "to-send"});
  EXPECT_EQ(failing.status, 507) << failing.error;
  EXPECT_THAT(failing.body, HasSubstr("insufficient storage"));
  auto refused = Fetch(Url("/refusing-sink"), {.method = "POST", .upload = dir_ / "to-send"});
  EXPECT_EQ(refused.status, 403) << refused.error;
  EXPECT_THAT(refused.body, HasSubstr("not this one"));
  EXPECT_FALSE(handled_);
}

TEST_F(SinkTest, SinkRoutesEnforceTheirLimit) {
  RawConnection announced(port());
  ASSERT_TRUE(
      announced.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000\r\n\r\n"));
  EXPECT_EQ(StatusOf(announced.ReadResponse()), 413);
  EXPECT_FALSE(handled_);
}

TEST_F(SinkTest, ABodyIsTimedByItsProgressNotItsLength) {
  // A body that keeps coming, slower than body_timeout in all, is read to its end...
  RawConnection slow(port());
  ASSERT_TRUE(slow.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n"));
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(250ms);
    ASSERT_TRUE(slow.Send("x"));
  }
  EXPECT_EQ(StatusOf(slow.ReadResponse()), 200);
  EXPECT_EQ(Received(), std::string(10, 'x'));

  // ...one that stops is dropped once body_timeout passed without a byte.
  RawConnection stalled(port());
  ASSERT_TRUE(stalled.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nxx"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled.ReadUntilClosed(5s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 800ms);
  EXPECT_LT(elapsed, 3s);
}

}  // namespace
}  // namespace uh::server::http::testing
