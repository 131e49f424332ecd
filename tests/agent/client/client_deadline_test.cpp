// The download deadline (ClientOptions::download_min_rate and download_time_allowance): a server
// that trickles an object with an honest Content-Length is cut off with kTimeout once the
// deadline for the bytes still to fetch has passed, whether the object goes to a file (what
// arrived stays, for the next attempt to resume), to an installer, or comes from a URL.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "client_fixture.hpp"
#include "core/hash.hpp"
#include "raw_http_server.hpp"

namespace uh::agent::testing {
namespace {

using ::testing::HasSubstr;
using uh::testing::ReadFile;
using uh::testing::WriteFile;
using namespace std::chrono_literals;

TEST(DownloadTimeLimitTest, IsTheAllowancePlusTheBytesAtTheMinimumRate) {
  ClientOptions options;
  options.download_min_rate = 1000;
  options.download_time_allowance = 1s;
  EXPECT_EQ(DownloadTimeLimit(options, 0), 1s);
  EXPECT_EQ(DownloadTimeLimit(options, 2500), 3500ms);
  // A size near the largest there is does not overflow the clock.
  const auto huge = DownloadTimeLimit(options, UINT64_MAX);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, std::chrono::hours(24 * 365));
  options.download_min_rate = 0;
  EXPECT_FALSE(DownloadTimeLimit(options, 2500));
}

TEST(DownloadTimeLimitTest, DefaultsSuitSlowCellularLinks) {
  const ClientOptions options;
  // 100 MiB at 8 KiB/s, plus five minutes: a little under three and a half hours.
  EXPECT_EQ(DownloadTimeLimit(options, 100 << 20), 5min + 12800s);
}

class ClientDeadlineTest : public ClientTest {
 protected:
  // Answers every request with a head announcing the rest of the object from the requested
  // Range (206) or all of it (200), then sends it 10 bytes every 100 ms: 100 bytes/s.
  RawHttpServer TricklingServer() {
    return RawHttpServer([this](RawHttpServer::Connection& c, const RawRequest& request, int) {
      std::uint64_t from = 0;
      const std::string range = request.Header("range");
      if (range.starts_with("bytes=")) from = std::stoull(range.substr(6));
      const std::string rest = object_.substr(from);
      const std::string head =
          from == 0 ? RawHead(200, {"Content-Length: " + std::to_string(rest.size())})
                    : RawHead(206, {"Content-Length: " + std::to_string(rest.size()),
                                    "Content-Range: bytes " + std::to_string(from) + "-" +
                                        std::to_string(object_.size() - 1) + "/" +
                                        std::to_string(object_.size())});
      if (!c.Send(head)) return;
      for (std::size_t at = 0; at < rest.size() && at < 1000; at += 10) {
        if (!c.Send(rest.substr(at, 10))) return;
        std::this_thread::sleep_for(100ms);
      }
    });
  }

  // A deadline of 1 s plus the bytes at 1000 bytes/s: 1.5 s for the object's 500 bytes.
  [[nodiscard]] static ClientOptions DeadlineOptions(std::string url) {
    auto options = TestOptions(std::move(url));
    options.download_min_rate = 1000;
    options.download_time_allowance = 1s;
    return options;
  }

  [[nodiscard]] ObjectDownload Object() const {
    return {.product_uid = kProduct,
            .package_uid = kPackage,
            .sha256 = Sha256Hex(object_),
            .size = object_.size(),
            .dest = dest_};
  }

  const std::string object_ = uh::testing::RandomBytes(500, 11);
  const std::filesystem::path dest_ = dir_ / "download";
};

TEST_F(ClientDeadlineTest, ATricklingObjectIsCutOffAndWhatArrivedIsKeptForTheResume) {
  auto raw = TricklingServer();
  auto client = MakeTestClient(DeadlineOptions(raw.Url()));
  const auto start = std::chrono::steady_clock::now();
  auto result = client->DownloadObject(Object(), {});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout) << result.error().message();
  EXPECT_THAT(result.error().message(), HasSubstr("minimum rate of 1000 bytes/s"));
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 3500ms);
  const std::string kept = ReadFile(dest_);
  EXPECT_GT(kept.size(), 0u);
  EXPECT_LT(kept.size(), object_.size());
  EXPECT_EQ(kept, object_.substr(0, kept.size()));

  // The next attempt asks only for the rest, and its deadline covers only that rest.
  const auto resumed_at = std::chrono::steady_clock::now();
  auto again = client->DownloadObject(Object(), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kTimeout) << again.error().message();
  EXPECT_THAT(again.error().message(),
              HasSubstr(std::to_string(object_.size() - kept.size()) + " bytes"));
  EXPECT_LT(std::chrono::steady_clock::now() - resumed_at, 3500ms);
  const auto requests = raw.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(kept.size()) + "-");
  const std::string more = ReadFile(dest_);
  EXPECT_GT(more.size(), kept.size());
  EXPECT_EQ(more, object_.substr(0, more.size()));
}

TEST_F(ClientDeadlineTest, TheDeadlineIsReckonedFromTheBytesStillToFetch) {
  // 450 of the 500 bytes are there: 1 s + 50 bytes at 1000 bytes/s, not 1.5 s.
  WriteFile(dest_, object_.substr(0, 450));
  auto raw = TricklingServer();
  auto result = MakeTestClient(DeadlineOptions(raw.Url()))->DownloadObject(Object(), {});
  ASSERT_TRUE(result) << result.error().message();  // 50 bytes at 100 bytes/s: 0.5 s
  EXPECT_TRUE(ReadFile(dest_) == object_);

  std::filesystem::remove(dest_);
  WriteFile(dest_, object_.substr(0, 100));
  auto options = DeadlineOptions(raw.Url());
  options.download_time_allowance = 500ms;  // 0.5 s + 0.4 s for the 400 bytes left
  const auto start = std::chrono::steady_clock::now();
  auto cut = MakeTestClient(options)->DownloadObject(Object(), {});
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code(), Errc::kTimeout) << cut.error().message();
  EXPECT_THAT(cut.error().message(), HasSubstr("plus 400 bytes"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST_F(ClientDeadlineTest, NoMinimumRateMeansNoDeadline) {
  WriteFile(dest_, object_.substr(0, 350));
  auto raw = TricklingServer();
  auto options = DeadlineOptions(raw.Url());
  options.download_min_rate = 0;
  options.download_time_allowance = 0s;
  auto result = MakeTestClient(options)->DownloadObject(Object(), {});  // 1.5 s at 100 bytes/s
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == object_);
}

TEST_F(ClientDeadlineTest, AStreamedObjectIsCutOffWithoutResumingWithinTheCall) {
  auto raw = TricklingServer();
  std::string consumed;
  const auto start = std::chrono::steady_clock::now();
  auto result =
      MakeTestClient(DeadlineOptions(raw.Url()))
          ->StreamObject(Object(),
                         [&](std::span<const std::byte> data) -> Expected<void> {
                           consumed.append(reinterpret_cast<const char*>(data.data()), data.size());
                           return {};
                         },
                         {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout) << result.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms);
  EXPECT_EQ(raw.requests().size(), 1u);
  EXPECT_EQ(consumed, object_.substr(0, consumed.size()));
}

TEST_F(ClientDeadlineTest, APackageByUrlIsCutOffByTheDeadlineOfItsContentLength) {
  auto raw = TricklingServer();
  const auto start = std::chrono::steady_clock::now();
  auto result = MakeTestClient(DeadlineOptions(raw.Url()))
                    ->DownloadUrl(raw.Url("/package.uhupkg"), dest_, {}, 1 << 30);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout) << result.error().message();
  EXPECT_THAT(result.error().message(), HasSubstr("plus 500 bytes"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms);
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

}  // namespace
}  // namespace uh::agent::testing
