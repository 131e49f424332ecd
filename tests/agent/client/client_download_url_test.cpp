// Whole packages by URL (remote_install): streamed within a size limit, never resumed, removed
// on failure.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client_fixture.hpp"
#include "raw_http_server.hpp"

namespace uh::agent::testing {
namespace {

using ::testing::HasSubstr;
using uh::testing::ReadFile;
using uh::testing::WriteFile;

class ClientDownloadUrlTest : public ClientTest {
 protected:
  ClientDownloadUrlTest() { WriteFile(package_file_, package_); }

  void ServePackage() {
    server_.Route(http::Method::kGet, "/files/update.uhupkg", [this](http::Request& request) {
      return http::FileResponse(request, package_file_);
    });
    server_.Start();
  }

  // The client's own server is elsewhere: a URL download goes wherever it is told.
  [[nodiscard]] std::unique_ptr<Client> NewClient() {
    return MakeTestClient("http://127.0.0.1:" + std::to_string(ClosedPort()));
  }

  const std::string package_ = uh::testing::RandomBytes(700 * 1024 + 5, 3);
  const std::filesystem::path package_file_ = dir_ / "package";
  const std::filesystem::path dest_ = dir_ / "downloaded.uhupkg";
};

TEST_F(ClientDownloadUrlTest, DownloadsAWholeFileFromScratch) {
  ServePackage();
  WriteFile(dest_, "an older download that must not be resumed");
  std::uint64_t last_done = 0;
  std::uint64_t last_total = 0;
  DownloadControl control{.abort = nullptr,
                          .progress = [&](std::uint64_t done, std::uint64_t total) {
                            last_done = done;
                            last_total = total;
                          }};
  auto result =
      NewClient()->DownloadUrl(server_.Url("/files/update.uhupkg"), dest_, control, 1 << 20);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(ReadFile(dest_) == package_);
  EXPECT_EQ(last_done, package_.size());
  EXPECT_EQ(last_total, package_.size());
  const auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].HasHeader("range"));
  EXPECT_FALSE(seen[0].HasHeader("api-content-type"));
  EXPECT_EQ(seen[0].Header("user-agent"), DefaultUserAgent());
}

TEST_F(ClientDownloadUrlTest, AnnouncedSizeOverTheLimitIsRefused) {
  ServePackage();
  auto result =
      NewClient()->DownloadUrl(server_.Url("/files/update.uhupkg"), dest_, {}, package_.size() - 1);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTooLarge);
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadUrlTest, StreamedSizeOverTheLimitIsRefused) {
  RawHttpServer raw([](RawHttpServer::Connection& c, const RawRequest&, int) {
    if (!c.Send(RawHead(200, {"Transfer-Encoding: chunked"}))) return;
    const std::string chunk = "1000\r\n" + std::string(0x1000, 'p') + "\r\n";
    for (int i = 0; i < 1024 && c.Send(chunk); ++i) {
    }
  });
  auto result = NewClient()->DownloadUrl(raw.Url("/pkg"), dest_, {}, 100000);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTooLarge) << result.error().message();
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadUrlTest, ErrorsRemoveTheFile) {
  ServePackage();
  auto missing = NewClient()->DownloadUrl(server_.Url("/files/nothing"), dest_, {}, 1 << 20);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dest_));

  RawHttpServer cut([&](RawHttpServer::Connection& c, const RawRequest&, int) {
    (void)c.Send(RawHead(200, {"Content-Length: 1000000"}) + package_.substr(0, 1000));
  });
  auto truncated = NewClient()->DownloadUrl(cut.Url("/pkg"), dest_, {}, 1 << 20);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), Errc::kIo);
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadUrlTest, OnlyHttpUrlsAreFollowed) {
  server_.Route(http::Method::kGet, "/evil", [](http::Request&) {
    return http::Response::Text(302, "").SetHeader("Location", "file:///etc/passwd");
  });
  server_.Start();
  auto client = NewClient();
  auto direct = client->DownloadUrl("file:///etc/passwd", dest_, {}, 1 << 20);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code(), Errc::kInvalidArgument);

  auto redirected = client->DownloadUrl(server_.Url("/evil"), dest_, {}, 1 << 20);
  ASSERT_FALSE(redirected);
  EXPECT_THAT(redirected.error().message(), HasSubstr("downloading"));
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(ClientDownloadUrlTest, AbortIsCancelled) {
  ServePackage();
  std::atomic<bool> abort{true};
  DownloadControl control;
  control.abort = &abort;
  auto result =
      NewClient()->DownloadUrl(server_.Url("/files/update.uhupkg"), dest_, control, 1 << 20);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kCancelled);
  EXPECT_TRUE(server_.seen().empty());
}

}  // namespace
}  // namespace uh::agent::testing
