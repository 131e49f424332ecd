// The web dashboard as the server serves it, over real HTTP: files read once at start from a
// small fake bundle this test writes, index.html for the client-side routes, content types,
// ETags and caching, the security headers, and a server without a bundle still serving its API.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "server/dashboard.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using http::testing::FetchOptions;
using http::testing::RawConnection;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kIndexHtml =
    "<!doctype html><title>dash</title><script type=module src=/ui/assets/app-1a2b.js></script>";
constexpr const char* kAppJs = "console.log('dashboard');";

void WriteBundleFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class DashboardAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = server_.dir.path() / "bundle";
    WriteBundleFile(bundle_ / "index.html", kIndexHtml);
    WriteBundleFile(bundle_ / "assets" / "app-1a2b.js", kAppJs);
    WriteBundleFile(bundle_ / "assets" / "app-3c4d.css", "body{color:red}");
    WriteBundleFile(bundle_ / "favicon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
    // Outside the bundle: nothing may reach it.
    WriteBundleFile(server_.dir.path() / "secret.txt", "top secret");
    server_.Stop();
    server_.config().dashboard_dir = bundle_;
    server_.Start();
  }

  FetchResult Get(const std::string& path, std::vector<std::string> headers = {}) {
    return Fetch(server_.Url(path), FetchOptions{.headers = std::move(headers)});
  }

  static void ExpectSecurityHeaders(const FetchResult& answer) {
    ASSERT_TRUE(answer.headers.contains("content-security-policy"));
    const std::string& csp = answer.headers.at("content-security-policy");
    EXPECT_THAT(csp, HasSubstr("default-src 'self'"));
    EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-eval")));
    EXPECT_EQ(answer.headers.at("x-content-type-options"), "nosniff");
    EXPECT_EQ(answer.headers.at("referrer-policy"), "no-referrer");
  }

  ServerFixture server_;
  std::filesystem::path bundle_;
};

TEST_F(DashboardAssetsTest, RootRedirectsToTheDashboard) {
  auto answer = Get("/");
  EXPECT_EQ(answer.status, 302);
  EXPECT_EQ(answer.headers["location"], "/ui/");
  ExpectSecurityHeaders(answer);
  EXPECT_EQ(Get("/ui").headers["location"], "/ui/");
}

TEST_F(DashboardAssetsTest, ServesIndexForEveryClientRoute) {
  for (const char* path : {"/ui/", "/ui/devices", "/ui/rollouts/12", "/ui/settings/audit"}) {
    SCOPED_TRACE(path);
    auto answer = Get(path);
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.body, kIndexHtml);
    EXPECT_EQ(answer.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(answer.headers["cache-control"], "no-cache");
    ExpectSecurityHeaders(answer);
  }
}

TEST_F(DashboardAssetsTest, ServesAssetsWithTypeEtagAndLongCaching) {
  auto script = Get("/ui/assets/app-1a2b.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, kAppJs);
  EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_THAT(script.headers["cache-control"], HasSubstr("max-age=31536000"));
  EXPECT_THAT(script.headers["cache-control"], HasSubstr("immutable"));
  ExpectSecurityHeaders(script);
  const std::string etag = script.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');

  auto again = Get("/ui/assets/app-1a2b.js", {"If-None-Match: " + etag});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.headers["etag"], etag);
  EXPECT_EQ(Get("/ui/assets/app-1a2b.js", {"If-None-Match: \"other\""}).status, 200);

  EXPECT_EQ(Get("/ui/assets/app-3c4d.css").headers["content-type"], "text/css; charset=utf-8");
  auto icon = Get("/ui/favicon.svg");
  EXPECT_EQ(icon.headers["content-type"], "image/svg+xml");
  EXPECT_EQ(icon.headers["cache-control"], "no-cache");
}

TEST_F(DashboardAssetsTest, MissingAssetIsNotFoundRatherThanThePage) {
  auto answer = Get("/ui/assets/gone-9999.js");
  EXPECT_EQ(answer.status, 404);
  EXPECT_THAT(answer.body, Not(HasSubstr("<title>")));
}

TEST_F(DashboardAssetsTest, FilesAreReadOnceAndNothingOutsideIsReachable) {
  // Changed after the start: the server serves what it loaded.
  WriteBundleFile(bundle_ / "assets" / "app-1a2b.js", "changed");
  WriteBundleFile(bundle_ / "late.txt", "late");
  EXPECT_EQ(Get("/ui/assets/app-1a2b.js").body, kAppJs);
  EXPECT_EQ(Get("/ui/late.txt").body, kIndexHtml);

  for (const char* path : {"/ui/../secret.txt", "/ui/%2e%2e/secret.txt",
                           "/ui/assets/../../secret.txt", "/ui/..%2fsecret.txt"}) {
    SCOPED_TRACE(path);
    RawConnection connection(server_.app().port());
    ASSERT_TRUE(connection.Send(std::string("GET ") + path +
                                " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string response = connection.ReadResponse();
    EXPECT_THAT(response, Not(HasSubstr("top secret")));
  }
}

TEST_F(DashboardAssetsTest, ApiStillAnswersBesideTheDashboard) {
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(server_.Api("GET", "/api/v1/products").status, 200);
  EXPECT_EQ(Get("/api/v1/nothing-here").status, 404);
}

TEST(DashboardOffTest, WithoutABundleRootSaysSoAndTheApiWorks) {
  ServerFixture server;
  server.Stop();
  server.config().dashboard_dir = server.dir.path() / "no-such-dir";
  server.Start();
  auto root = Fetch(server.Url("/"));
  EXPECT_EQ(root.status, 200);
  EXPECT_THAT(root.body, HasSubstr("dashboard is off"));
  EXPECT_THAT(root.body, HasSubstr("the server's log says why"));
  EXPECT_THAT(root.body, ::testing::Not(HasSubstr("no-such-dir")));  // no server path
  EXPECT_EQ(Fetch(server.Url("/ui/devices")).status, 404);
  EXPECT_EQ(server.Api("GET", "/api/v1/products").status, 200);
}

TEST(DashboardContentTypeTest, KnowsTheBundlesFileTypes) {
  EXPECT_EQ(DashboardContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(DashboardContentType("assets/a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(DashboardContentType("assets/a.woff2"), "font/woff2");
  EXPECT_EQ(DashboardContentType("README"), "application/octet-stream");
}

}  // namespace
}  // namespace uh::server::testing
