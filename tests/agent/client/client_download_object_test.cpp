// Object downloads: whole, resumed at exactly the bytes on disk, restarted, verified, redirected,
// aborted, out of space, and against servers that send too much or stall.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "client_fixture.hpp"
#include "core/fs.hpp"
#include "core/hash.hpp"
#include "raw_http_server.hpp"

namespace uh::agent::testing {
namespace {

using ::testing::HasSubstr;
using uh::testing::ReadFile;
using uh::testing::WriteFile;
using namespace std::chrono_literals;

class ClientDownloadObjectTest : public ClientTest {
 protected:
  ClientDownloadObjectTest() { WriteFile(object_file_, object_); }

  // The protocol's object route, serving the object file (with Range support) by default.
  void ServeObject() {
    server_.Route(
        http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
        [this](http::Request& request) { return http::FileResponse(request, object_file_); });
    server_.Start();
  }

  [[nodiscard]] ObjectDownload Object() const {
    return {.product_uid = kProduct,
            .package_uid = kPackage,
            .sha256 = sha256_,
            .size = object_.size(),
            .dest = dest_};
  }
  [[nodiscard]] std::string ObjectTarget() const {
    return "/products/" + kProduct + "/packages/" + kPackage + "/objects/" + sha256_;
  }

  const std::string object_ = uh::testing::RandomBytes((1 << 20) + 123, 7);
  const std::string sha256_ = Sha256Hex(object_);
  const std::filesystem::path object_file_ = dir_ / "object";
  const std::filesystem::path dest_ = dir_ / "download";
};

TEST_F(ClientDownloadObjectTest, DownloadsAWholeObject) {
  ServeObject();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  DownloadControl control{.abort = nullptr,
                          .progress = [&](std::uint64_t done, std::uint64_t total) {
                            progress.emplace_back(done, total);
                          }};
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), control);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);

  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, ObjectTarget());
  EXPECT_FALSE(seen[0].HasHeader("range"));
  EXPECT_EQ(seen[0].Header("api-content-type"), "application/vnd.updatehub-v1+json");
  ASSERT_GE(progress.size(), 2u);
  using Step = std::pair<std::uint64_t, std::uint64_t>;
  EXPECT_EQ(progress.front(), Step(0, object_.size()));
  EXPECT_EQ(progress.back(), Step(object_.size(), object_.size()));
  EXPECT_TRUE(std::ranges::is_sorted(progress));
}

TEST_F(ClientDownloadObjectTest, ResumesAnInterruptedDownloadAtExactlyTheBytesOnDisk) {
  constexpr std::size_t kSent = 300000;
  RawHttpServer cut([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    (void)c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
                 object_.substr(0, kSent));
  });
  auto first = MakeTestClient(cut.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), Errc::kIo) << first.error().message();
  ASSERT_EQ(std::filesystem::file_size(dest_), kSent);  // kept for the resume

  ServeObject();
  auto second = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("range"), "bytes=" + std::to_string(kSent) + "-");
}

TEST_F(ClientDownloadObjectTest, StartsOverWhenTheServerIgnoresTheRange) {
  WriteFile(dest_, std::string(5000, 'x'));  // not even a prefix of the object
  server_.Route(http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                [this](http::Request&) {
                  http::Response response;
                  response.body = http::FileBody{object_file_, 0, object_.size()};
                  return response;
                });
  server_.Start();
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  EXPECT_EQ(server_.seen().at(0).Header("range"), "bytes=5000-");
}

TEST_F(ClientDownloadObjectTest, HashMismatchRemovesTheFile) {
  ServeObject();
  auto wrong = Object();
  wrong.sha256 = std::string(64, 'f');
  auto result = MakeTestClient(server_.Url())->DownloadObject(wrong, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity);
  EXPECT_FALSE(std::filesystem::exists(dest_));

  // A corrupt prefix from an earlier attempt is caught the same way, and cleared for the next.
  WriteFile(dest_, std::string(1000, 'x'));
  result = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity);
  EXPECT_FALSE(std::filesystem::exists(dest_));
  EXPECT_TRUE(MakeTestClient(server_.Url())->DownloadObject(Object(), {}));
  EXPECT_TRUE(ReadFile(dest_) == object_);
}

TEST_F(ClientDownloadObjectTest, CompleteFileIsVerifiedWithoutARequest) {
  ServeObject();
  WriteFile(dest_, object_);
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(server_.seen().empty());
}

// The object whole in the download directory already: it is written into the copy from there,
// without a request; a copy that cannot be opened (it is never created) fails the call.
TEST_F(ClientDownloadObjectTest, ACompleteFileIsWrittenIntoTheCopyWithoutARequest) {
  ServeObject();
  WriteFile(dest_, object_);
  const auto slot = dir_ / "slot";
  WriteFile(slot, std::string(object_.size(), 'x'));
  auto download = Object();
  download.copy = ObjectDownload::Copy{slot, 0};
  auto result = MakeTestClient(server_.Url())->DownloadObject(download, {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(server_.seen().empty());
  EXPECT_TRUE(ReadFile(slot) == object_);

  download.copy = ObjectDownload::Copy{dir_ / "no-slot", 0};
  result = MakeTestClient(server_.Url())->DownloadObject(download, {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(), HasSubstr("no-slot"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-slot"));
  // A stream has no copy.
  download.copy = ObjectDownload::Copy{slot, 0};
  download.stream = ObjectDownload::Stream{0, dir_ / "progress"};
  result = MakeTestClient(server_.Url())->DownloadObject(download, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kInvalidArgument);
}

TEST_F(ClientDownloadObjectTest, LongerFileIsDownloadedAgainFromTheStart) {
  ServeObject();
  WriteFile(dest_, object_ + "trailing");
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  EXPECT_FALSE(server_.seen().at(0).HasHeader("range"));
}

TEST_F(ClientDownloadObjectTest, UnsatisfiableRangeClearsTheFile) {
  ServeObject();
  auto bigger = Object();
  bigger.size = object_.size() + 1000;  // what the server has is shorter than declared
  WriteFile(dest_, object_ + "12");
  auto result = MakeTestClient(server_.Url())->DownloadObject(bigger, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity) << result.error().message();
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadObjectTest, AnnouncedSizeOtherThanTheObjectsIsRefused) {
  ServeObject();
  auto smaller = Object();
  smaller.size = object_.size() - 10;
  auto result = MakeTestClient(server_.Url())->DownloadObject(smaller, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity) << result.error().message();
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadObjectTest, MoreBytesThanTheSizeAreNeverWritten) {
  std::atomic<std::uint64_t> largest{0};
  const std::string too_much = object_ + std::string(100000, 'z');
  RawHttpServer raw([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (!c.Send(RawHead(200, {"Transfer-Encoding: chunked"}))) return;
    for (std::size_t at = 0; at < too_much.size(); at += 4096) {
      const std::string piece = too_much.substr(at, 4096);
      char size[16];
      std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
      if (!c.Send(size + piece + "\r\n")) return;
      std::error_code ignored;
      largest = std::max<std::uint64_t>(largest, std::filesystem::file_size(dest_, ignored));
    }
    (void)c.Send("0\r\n\r\n");
  });
  auto result = MakeTestClient(raw.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity) << result.error().message();
  EXPECT_THAT(result.error().message(), HasSubstr("more than"));
  EXPECT_FALSE(std::filesystem::exists(dest_));
  EXPECT_LE(largest.load(), object_.size());
}

TEST_F(ClientDownloadObjectTest, FollowsARedirectWithoutTakingTheTokenElsewhere) {
  RecordingServer cdn(dir_.path());
  cdn.Route(http::Method::kGet, "/blobs/{o}",
            [this](http::Request& request) { return http::FileResponse(request, object_file_); });
  cdn.Start();
  server_.Route(http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                [&](http::Request& request) {
                  return http::Response::Text(302, "see the CDN")
                      .SetHeader("Location", cdn.Url("/blobs/" + request.Param("o")));
                });
  server_.Start();
  auto options = TestOptions(server_.Url());
  options.product_token = "secret";
  auto result = MakeTestClient(options)->DownloadObject(Object(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  EXPECT_EQ(server_.seen().at(0).Header("uh-product-token"), "secret");
  const auto at_cdn = cdn.seen();
  ASSERT_EQ(at_cdn.size(), 1u);
  EXPECT_EQ(at_cdn[0].target, "/blobs/" + sha256_);
  EXPECT_FALSE(at_cdn[0].HasHeader("uh-product-token"));
}

TEST_F(ClientDownloadObjectTest, RedirectLoopsEnd) {
  server_.Route(http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                [](http::Request& request) {
                  return http::Response::Text(302, "").SetHeader("Location", request.target);
                });
  server_.Start();
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(), HasSubstr("redirects"));
  EXPECT_EQ(server_.seen().size(), 6u);
}

TEST_F(ClientDownloadObjectTest, AbortFromAnotherThreadKeepsThePartialFileForAResume) {
  constexpr std::size_t kSent = 512 * 1024;
  RawHttpServer stalling([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
               object_.substr(0, kSent))) {
      c.WaitForClose(20s);
    }
  });
  std::atomic<bool> abort{false};
  std::atomic<std::uint64_t> done{0};
  DownloadControl control{.abort = &abort,
                          .progress = [&](std::uint64_t bytes, std::uint64_t) { done = bytes; }};
  auto client = MakeTestClient(stalling.Url());
  auto download =
      std::async(std::launch::async, [&] { return client->DownloadObject(Object(), control); });
  while (done < 128 * 1024 && download.wait_for(10ms) == std::future_status::timeout) {
  }
  const auto aborted_at = std::chrono::steady_clock::now();
  abort = true;
  auto result = download.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kCancelled) << result.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - aborted_at, 3s);
  const auto kept = std::filesystem::file_size(dest_);
  EXPECT_GE(kept, 128u * 1024);
  EXPECT_LE(kept, kSent);
  EXPECT_TRUE(ReadFile(dest_) == object_.substr(0, kept));

  ServeObject();
  auto resumed = MakeTestClient(server_.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(resumed) << resumed.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  EXPECT_EQ(server_.seen().at(0).Header("range"), "bytes=" + std::to_string(kept) + "-");
}

TEST_F(ClientDownloadObjectTest, AbortBeforeStartingSendsNothing) {
  ServeObject();
  std::atomic<bool> abort{true};
  DownloadControl control;
  control.abort = &abort;
  auto result = MakeTestClient(server_.Url())->DownloadObject(Object(), control);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kCancelled);
  EXPECT_TRUE(server_.seen().empty());
}

TEST_F(ClientDownloadObjectTest, NotEnoughSpaceFailsBeforeDownloading) {
  ServeObject();
  auto huge = Object();
  huge.size = std::uint64_t{1} << 60;  // more than any test machine's temporary file system
  auto result = MakeTestClient(server_.Url())->DownloadObject(huge, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kNoSpace) << result.error().message();
  EXPECT_TRUE(server_.seen().empty());
}

TEST_F(ClientDownloadObjectTest, StalledTransferTimesOutAndKeepsWhatArrived) {
  RawHttpServer stalling([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
               object_.substr(0, 1000))) {
      c.WaitForClose(20s);
    }
  });
  auto options = TestOptions(stalling.Url());
  // libcurl measures speed over a few seconds: the limit is above what the burst averages to.
  options.low_speed_limit = 1000;
  options.low_speed_time = 1s;
  auto result = MakeTestClient(options)->DownloadObject(Object(), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_.substr(0, 1000));
}

// --- Streaming into an existing target (a slot) at an offset --------------------------------

class ClientStreamObjectTest : public ClientDownloadObjectTest {
 protected:
  ClientStreamObjectTest() { WriteFile(target_, std::string(kTargetSize, 'x')); }

  [[nodiscard]] ObjectDownload Streamed() const {
    auto download = Object();
    download.dest = target_;
    download.stream = ObjectDownload::Stream{kOffset, progress_};
    return download;
  }
  [[nodiscard]] std::string Record(std::uint64_t bytes) const {
    return sha256_ + " " + std::to_string(kOffset) + " " + std::to_string(bytes) + "\n";
  }
  // The target holds the object's first `bytes` at kOffset and is untouched around it.
  void ExpectTargetHolds(std::size_t bytes) const {
    const auto target = ReadFile(target_);
    ASSERT_EQ(target.size(), kTargetSize);
    EXPECT_EQ(target.substr(0, kOffset), std::string(kOffset, 'x'));
    EXPECT_TRUE(target.substr(kOffset, bytes) == object_.substr(0, bytes));
    EXPECT_EQ(target.substr(kOffset + object_.size()),
              std::string(kTargetSize - kOffset - object_.size(), 'x'));
  }

  static constexpr std::size_t kOffset = 256 * 1024;
  static constexpr std::size_t kTargetSize = 2 << 20;
  const std::filesystem::path target_ = dir_ / "slot";
  const std::filesystem::path progress_ = dir_ / "progress";
};

TEST_F(ClientStreamObjectTest, WritesTheObjectIntoTheTargetAtItsOffsetAndRecordsIt) {
  ServeObject();
  auto result = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
  ASSERT_TRUE(result) << result.error().message();
  ExpectTargetHolds(object_.size());
  EXPECT_EQ(ReadFile(progress_), Record(object_.size()));
  EXPECT_FALSE(std::filesystem::exists(dest_));  // no copy in the download directory
  EXPECT_FALSE(server_.seen().at(0).HasHeader("range"));

  // Complete and recorded: verified from the target without a request.
  ASSERT_TRUE(MakeTestClient(server_.Url())->DownloadObject(Streamed(), {}));
  EXPECT_EQ(server_.seen().size(), 1u);
}

TEST_F(ClientStreamObjectTest, ResumesFromTheRecordNotFromTheTargetsSize) {
  constexpr std::size_t kHave = 300000;
  auto target = ReadFile(target_);
  target.replace(kOffset, kHave, object_.substr(0, kHave));
  WriteFile(target_, target);
  WriteFile(progress_, Record(kHave));
  ServeObject();
  auto result = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
  ASSERT_TRUE(result) << result.error().message();
  ExpectTargetHolds(object_.size());
  EXPECT_EQ(server_.seen().at(0).Header("range"), "bytes=" + std::to_string(kHave) + "-");
}

// The record is a file on the device: one of another object or offset, past the object's size,
// or garbage counts as nothing there, and the object is streamed again from its start.
TEST_F(ClientStreamObjectTest, AnUntrustworthyRecordStartsOver) {
  ServeObject();
  const std::vector<std::string> records = {
      std::string(64, 'a') + " " + std::to_string(kOffset) + " 1000\n",
      sha256_ + " 0 1000\n",
      Record(object_.size() + 1),
      sha256_ + " " + std::to_string(kOffset) + " -5\n",
      "garbage",
      std::string(300, '9')};
  for (const auto& record : records) {
    WriteFile(progress_, record);
    auto result = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
    ASSERT_TRUE(result) << record << ": " << result.error().message();
    EXPECT_FALSE(server_.seen().back().HasHeader("range")) << record;
    ExpectTargetHolds(object_.size());
  }
}

// A record that vouches for more than the target holds (the target was replaced by a shorter
// file) starts over too, instead of failing on every retry.
TEST_F(ClientStreamObjectTest, ARecordPastTheTargetsEndStartsOver) {
  ServeObject();
  WriteFile(target_, std::string(kOffset + 1000, 'x'));
  WriteFile(progress_, Record(300000));
  auto result = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_FALSE(server_.seen().at(0).HasHeader("range"));
  const auto target = ReadFile(target_);
  ASSERT_EQ(target.size(), kOffset + object_.size());  // a regular file grows
  EXPECT_TRUE(target.substr(kOffset) == object_);
}

// What arrived is synced and recorded every checkpoint, while the transfer goes on: a power cut
// loses at most one checkpoint's worth. An interrupted stream resumes after what it recorded.
TEST_F(ClientStreamObjectTest, RecordsProgressDuringTheTransferAndResumesAfterIt) {
  constexpr std::size_t kSent = 512 * 1024;
  RawHttpServer stalling([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
               object_.substr(0, kSent))) {
      c.WaitForClose(20s);
    }
  });
  auto download = Streamed();
  download.stream->checkpoint_bytes = 64 * 1024;
  std::atomic<bool> abort{false};
  DownloadControl control{.abort = &abort, .progress = {}};
  auto client = MakeTestClient(stalling.Url());
  auto running =
      std::async(std::launch::async, [&] { return client->DownloadObject(download, control); });
  std::string during;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(progress_)) during = ReadFile(progress_);
    if (!during.empty()) break;
    std::this_thread::sleep_for(5ms);
  }
  // Still transferring (the server holds the connection), and already recorded.
  EXPECT_EQ(running.wait_for(0ms), std::future_status::timeout);
  abort = true;
  auto result = running.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kCancelled) << result.error().message();
  ASSERT_FALSE(during.empty());
  EXPECT_TRUE(during.starts_with(sha256_ + " " + std::to_string(kOffset) + " ")) << during;

  const auto record = ReadFile(progress_);
  const auto kept = std::stoull(record.substr(record.rfind(' ') + 1));
  EXPECT_GE(kept, 64u * 1024);
  EXPECT_LE(kept, kSent);
  ExpectTargetHolds(kept);

  ServeObject();
  auto resumed = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
  ASSERT_TRUE(resumed) << resumed.error().message();
  ExpectTargetHolds(object_.size());
  EXPECT_EQ(server_.seen().at(0).Header("range"), "bytes=" + std::to_string(kept) + "-");
}

// A wrong hash drops the record (the next attempt starts over) but never the target.
TEST_F(ClientStreamObjectTest, HashMismatchDropsTheRecordAndKeepsTheTarget) {
  ServeObject();
  auto wrong = Streamed();
  wrong.sha256 = std::string(64, 'f');
  auto result = MakeTestClient(server_.Url())->DownloadObject(wrong, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity);
  EXPECT_FALSE(std::filesystem::exists(progress_));
  EXPECT_EQ(std::filesystem::file_size(target_), kTargetSize);
}

// A streamed object's target must exist: it is a partition, never created.
TEST_F(ClientStreamObjectTest, AMissingTargetIsNotCreated) {
  ServeObject();
  std::filesystem::remove(target_);
  auto result = MakeTestClient(server_.Url())->DownloadObject(Streamed(), {});
  ASSERT_FALSE(result);
  EXPECT_FALSE(std::filesystem::exists(target_));
  EXPECT_TRUE(server_.seen().empty());
}

TEST_F(ClientDownloadObjectTest, MissingObjectAndUnsafeIdsAreErrors) {
  server_.Route(http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                [](http::Request&) { return http::Response::Error(404, "no such object"); });
  server_.Start();
  auto client = MakeTestClient(server_.Url());
  auto missing = client->DownloadObject(Object(), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("no such object"));

  auto unsafe = Object();
  unsafe.sha256 = "../../../../../../etc/passwd";
  EXPECT_EQ(client->DownloadObject(unsafe, {}).error().code(), Errc::kInvalidArgument);
  unsafe = Object();
  unsafe.package_uid = std::string(63, 'b') + "/";
  EXPECT_EQ(client->DownloadObject(unsafe, {}).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(server_.seen().size(), 1u);
}

// --- Streaming into a consumer (a pipe to an installer) ----------------------------------------

class ClientConsumeObjectTest : public ClientDownloadObjectTest {
 protected:
  // Collects what it is given.
  Client::ObjectConsumer Collect() {
    return [this](std::span<const std::byte> bytes) -> Expected<void> {
      handed_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      ++calls_;
      return {};
    };
  }
  [[nodiscard]] std::string Range(std::size_t from) const {
    return "Content-Range: bytes " + std::to_string(from) + "-" +
           std::to_string(object_.size() - 1) + "/" + std::to_string(object_.size());
  }

  std::string handed_;
  int calls_ = 0;
};

TEST_F(ClientConsumeObjectTest, HandsTheWholeObjectOverInBlocks) {
  ServeObject();
  auto result = MakeTestClient(server_.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(handed_ == object_);
  EXPECT_LE(calls_, static_cast<int>(object_.size() / (64 * 1024)));  // gathered, not per packet
  EXPECT_FALSE(std::filesystem::exists(dest_));
  EXPECT_FALSE(server_.seen().at(0).HasHeader("range"));
}

// A transfer cut off by the network goes on from the bytes already handed over, in the call.
TEST_F(ClientConsumeObjectTest, ResumesACutTransferWithinTheCall) {
  constexpr std::size_t kSent = 300000;
  RawHttpServer flaky([&](RawHttpServer::Connection& c, const RawRequest&, int index) {
    if (index == 0) {
      (void)c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
                   object_.substr(0, kSent));
      return;
    }
    const std::string rest = object_.substr(kSent);
    (void)c.Send(RawHead(206, {Range(kSent), "Content-Length: " + std::to_string(rest.size())}) +
                 rest);
  });
  auto result = MakeTestClient(flaky.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(handed_ == object_);
  const auto requests = flaky.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(kSent) + "-");
}

// A server that answers the resume with the whole object again: what was handed over already is
// dropped, never handed over twice.
TEST_F(ClientConsumeObjectTest, AWholeReplyToTheResumeIsNotHandedOverTwice) {
  constexpr std::size_t kSent = 300000;
  RawHttpServer no_ranges([&](RawHttpServer::Connection& c, const RawRequest&, int index) {
    const std::string head = RawHead(200, {"Content-Length: " + std::to_string(object_.size())});
    (void)c.Send(head + (index == 0 ? object_.substr(0, kSent) : object_));
  });
  auto result = MakeTestClient(no_ranges.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(handed_.size(), object_.size());
  EXPECT_TRUE(handed_ == object_);
}

// Resumes that bring nothing end the call after Client::kStreamResumes of them.
TEST_F(ClientConsumeObjectTest, GivesUpAfterResumesThatBringNothing) {
  constexpr std::size_t kSent = 1000;
  RawHttpServer dying([&](RawHttpServer::Connection& c, const RawRequest&, int index) {
    if (index == 0) {
      (void)c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
                   object_.substr(0, kSent));
      return;
    }
    (void)c.Send(
        RawHead(206, {Range(kSent), "Content-Length: " + std::to_string(object_.size() - kSent)}));
  });
  auto result = MakeTestClient(dying.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIo) << result.error().message();
  EXPECT_EQ(dying.requests().size(), static_cast<std::size_t>(1 + Client::kStreamResumes));
  EXPECT_EQ(handed_, object_.substr(0, kSent));
}

TEST_F(ClientConsumeObjectTest, AWrongHashFailsAfterTheLastByte) {
  ServeObject();
  auto wrong = Object();
  wrong.sha256 = std::string(64, 'f');
  auto result = MakeTestClient(server_.Url())->StreamObject(wrong, Collect(), {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kIntegrity) << result.error().message();
  EXPECT_EQ(server_.seen().size(), 1u);
}

// The consumer's error stops the transfer at once and is the call's, without a resume.
TEST_F(ClientConsumeObjectTest, TheConsumersErrorStopsTheTransfer) {
  ServeObject();
  std::size_t given = 0;
  int calls = 0;
  const Client::ObjectConsumer failing = [&](std::span<const std::byte> bytes) -> Expected<void> {
    given += bytes.size();
    ++calls;
    return Fail(Errc::kNoSpace, "the slot is full");
  };
  auto result = MakeTestClient(server_.Url())->StreamObject(Object(), failing, {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kNoSpace);
  EXPECT_THAT(result.error().message(), HasSubstr("the slot is full"));
  EXPECT_EQ(calls, 1);
  EXPECT_LE(given, uh::kIoBufferSize);
  EXPECT_EQ(server_.seen().size(), 1u);
}

// --- Resuming against each way a server answers "Range: bytes=N-" ----------------------------

// 206 with the rest (the protocol); 200 with the whole object (a server without ranges); 200 with
// only the rest and no Content-Range (updatehub-ce).
enum class RangeAnswer { kPartial, kWhole, kTailOnly };

std::string Name(const ::testing::TestParamInfo<RangeAnswer>& info) {
  switch (info.param) {
    case RangeAnswer::kPartial:
      return "Partial206";
    case RangeAnswer::kWhole:
      return "WholeObject200";
    case RangeAnswer::kTailOnly:
      return "TailOnly200";
  }
  return "Unknown";
}

// Every test cuts the first transfer after kCut bytes; the server answers the resume as the
// parameter says and counts the body bytes it sends for it.
class ClientResumeTest : public ClientConsumeObjectTest,
                         public ::testing::WithParamInterface<RangeAnswer> {
 protected:
  static constexpr std::size_t kCut = 300000;

  RawHttpServer::Script Script() {
    return [this](RawHttpServer::Connection& c, const RawRequest& request, int index) {
      const std::string whole = "Content-Length: " + std::to_string(object_.size());
      if (index == 0) {
        (void)c.Send(RawHead(200, {whole}) + object_.substr(0, kCut));
        return;
      }
      const std::string range = request.Header("range");
      const std::size_t from = range.empty() ? 0 : std::stoull(range.substr(range.find('=') + 1));
      const std::string rest = object_.substr(from);
      const std::string rest_length = "Content-Length: " + std::to_string(rest.size());
      switch (GetParam()) {
        case RangeAnswer::kPartial:
          resumed_bytes_ += rest.size();
          (void)c.Send(RawHead(206, {Range(from), rest_length}) + rest);
          return;
        case RangeAnswer::kWhole:
          resumed_bytes_ += object_.size();
          (void)c.Send(RawHead(200, {whole}) + object_);
          return;
        case RangeAnswer::kTailOnly:
          resumed_bytes_ += rest.size();
          (void)c.Send(RawHead(200, {rest_length}) + rest);
          return;
      }
    };
  }
  // What the resume must cost: the rest, unless the server sends everything again.
  [[nodiscard]] std::size_t ResumeBytes() const {
    return GetParam() == RangeAnswer::kWhole ? object_.size() : object_.size() - kCut;
  }

  std::atomic<std::size_t> resumed_bytes_{0};
};

TEST_P(ClientResumeTest, ADownloadCutOffResumesIntoTheRightBytes) {
  RawHttpServer server(Script());
  auto first = MakeTestClient(server.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), Errc::kIo) << first.error().message();
  ASSERT_EQ(std::filesystem::file_size(dest_), kCut);

  auto second = MakeTestClient(server.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  EXPECT_EQ(Sha256Hex(ReadFile(dest_)), sha256_);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(kCut) + "-");
  EXPECT_EQ(resumed_bytes_.load(), ResumeBytes());
}

TEST_P(ClientResumeTest, AStreamCutOffResumesWithinTheCallIntoTheRightBytes) {
  RawHttpServer server(Script());
  auto result = MakeTestClient(server.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(handed_.size(), object_.size());
  EXPECT_TRUE(handed_ == object_);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(kCut) + "-");
  EXPECT_EQ(resumed_bytes_.load(), ResumeBytes());
}

// A download with a copy (the object also written into a slot as it arrives): the copy holds
// the object after the resume too, although what the first attempt wrote there was lost (a
// restart in between): the bytes the resume keeps in the file are written there again.
TEST_P(ClientResumeTest, ADownloadWithACopyCutOffResumesIntoTheRightBytesOfBoth) {
  constexpr std::size_t kOffset = 4096 + 17;
  const auto slot = dir_ / "slot";
  const std::string around(kOffset + object_.size() + 5000, 'x');
  WriteFile(slot, around);
  auto download = Object();
  download.copy = ObjectDownload::Copy{slot, kOffset};
  RawHttpServer server(Script());
  ASSERT_FALSE(MakeTestClient(server.Url())->DownloadObject(download, {}));
  ASSERT_EQ(std::filesystem::file_size(dest_), kCut);
  EXPECT_TRUE(ReadFile(slot).substr(kOffset, kCut) == object_.substr(0, kCut));
  WriteFile(slot, around);  // what the first attempt wrote there is gone

  auto second = MakeTestClient(server.Url())->DownloadObject(download, {});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  const std::string copy = ReadFile(slot);
  ASSERT_EQ(copy.size(), around.size());
  EXPECT_EQ(copy.substr(0, kOffset), std::string(kOffset, 'x'));
  EXPECT_TRUE(copy.substr(kOffset, object_.size()) == object_);
  EXPECT_EQ(copy.substr(kOffset + object_.size()), std::string(5000, 'x'));
  EXPECT_EQ(resumed_bytes_.load(), ResumeBytes());
}

INSTANTIATE_TEST_SUITE_P(EveryServer, ClientResumeTest,
                         ::testing::Values(RangeAnswer::kPartial, RangeAnswer::kWhole,
                                           RangeAnswer::kTailOnly),
                         Name);

// A 200 to a range that is neither the whole object nor exactly the rest is refused from its
// head: not a byte of it is written, and the prefix goes (the next attempt asks for everything).
TEST_F(ClientDownloadObjectTest, A200OfAnyOtherLengthToARangeIsRefused) {
  constexpr std::size_t kHave = 300000;
  for (const std::size_t length :
       {object_.size() - kHave + 1, object_.size() - kHave - 1, object_.size() + 1, kHave}) {
    WriteFile(dest_, object_.substr(0, kHave));
    RawHttpServer odd([&](RawHttpServer::Connection& c, const RawRequest&, int) {
      (void)c.Send(RawHead(200, {"Content-Length: " + std::to_string(length)}) +
                   std::string(length, 'z'));
    });
    auto result = MakeTestClient(odd.Url())->DownloadObject(Object(), {});
    ASSERT_FALSE(result) << length;
    EXPECT_EQ(result.error().code(), Errc::kIntegrity) << result.error().message();
    EXPECT_FALSE(std::filesystem::exists(dest_)) << length;
  }
}

// Chunked, a 200 to a range cannot be told apart from its head: it is taken for the whole object.
// When it turns out shorter (updatehub-ce's rest, chunked), what it left is no prefix: the file
// goes, and the next attempt asks for the whole object instead of resuming after the wrong bytes.
TEST_F(ClientDownloadObjectTest, AChunkedRestToARangeMakesTheNextAttemptStartOver) {
  constexpr std::size_t kCut = 300000;
  RawHttpServer chunked([&](RawHttpServer::Connection& c, const RawRequest& request, int index) {
    if (index == 0) {
      (void)c.Send(RawHead(200, {"Content-Length: " + std::to_string(object_.size())}) +
                   object_.substr(0, kCut));
      return;
    }
    const std::string range = request.Header("range");
    const std::string body =
        range.empty() ? object_ : object_.substr(std::stoull(range.substr(range.find('=') + 1)));
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", body.size());
    (void)c.Send(RawHead(200, {"Transfer-Encoding: chunked"}) + size + body + "\r\n0\r\n\r\n");
  });
  ASSERT_FALSE(MakeTestClient(chunked.Url())->DownloadObject(Object(), {}));
  auto rest = MakeTestClient(chunked.Url())->DownloadObject(Object(), {});
  ASSERT_FALSE(rest);
  EXPECT_EQ(rest.error().code(), Errc::kIntegrity) << rest.error().message();
  EXPECT_FALSE(std::filesystem::exists(dest_));
  auto whole = MakeTestClient(chunked.Url())->DownloadObject(Object(), {});
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
  const auto requests = chunked.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(kCut) + "-");
  EXPECT_EQ(requests[2].Header("range"), "");
}

// A connection that fails after the object's last byte leaves nothing to resume: the hash
// decides, without asking for the bytes after the end.
TEST_F(ClientConsumeObjectTest, AFailureAfterTheLastByteAsksForNothingMore) {
  RawHttpServer unfinished([&](RawHttpServer::Connection& c, const RawRequest&, int index) {
    if (index > 0) {
      (void)c.Send(RawHead(416, {"Content-Length: 0"}));
      return;
    }
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", object_.size());
    (void)c.Send(RawHead(200, {"Transfer-Encoding: chunked"}) + size + object_ + "\r\n");
  });
  auto result = MakeTestClient(unfinished.Url())->StreamObject(Object(), Collect(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(handed_ == object_);
  EXPECT_EQ(unfinished.requests().size(), 1u);
}

}  // namespace
}  // namespace uh::agent::testing
