// Conditional GET over real sockets: JSON answers carry an ETag, a matching If-None-Match gets
// 304 without a body, and nothing else (other methods, statuses, content types) is touched.

#include <gtest/gtest.h>

#include <atomic>

#include "server/http/http_test_client.hpp"
#include "server/http/server_fixture.hpp"

namespace uh::server::http::testing {
namespace {

class ConditionalTest : public ServerFixture {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->Add(Method::kGet, "/json", [this](Request&) {
      return Response::Json(200, {{"version", version_.load()}});
    });
    router->Add(Method::kGet, "/text", [](Request&) { return Response::Text(200, "plain"); });
    router->Add(Method::kGet, "/missing",
                [](Request&) { return Response::Error(404, "unknown thing"); });
    router->Add(Method::kPost, "/json", [](Request&) {
      return Response::Json(200, {{"changed", true}});
    });
    StartServer(router);
  }

  std::atomic<int> version_{1};
};

TEST_F(ConditionalTest, JsonGetGetsAnETagAnd304WhenItMatches) {
  auto first = Fetch(Url("/json"));
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.headers["etag"];
  ASSERT_EQ(etag.size(), 34u) << etag;  // a quoted 32-digit hash
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(first.headers["cache-control"], "private, no-cache");

  auto again = Fetch(Url("/json"), {.headers = {"If-None-Match: " + etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], etag);
  EXPECT_EQ(again.headers.count("content-type"), 0u);

  // Weak tags and lists name it too; another tag does not.
  EXPECT_EQ(Fetch(Url("/json"), {.headers = {"If-None-Match: \"x\", W/" + etag}}).status, 304);
  EXPECT_EQ(Fetch(Url("/json"), {.headers = {"If-None-Match: *"}}).status, 304);
  EXPECT_EQ(Fetch(Url("/json"), {.headers = {"If-None-Match: \"other\""}}).status, 200);

  // A changed body has another tag: the old one gets the new body.
  version_ = 2;
  auto changed = Fetch(Url("/json"), {.headers = {"If-None-Match: " + etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, R"({"version":2})");
  EXPECT_NE(changed.headers["etag"], etag);

  // HEAD answers like GET.
  auto head = Fetch(Url("/json"), {.method = "HEAD", .headers = {"If-None-Match: " + etag}});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["etag"], changed.headers["etag"]);
}

TEST_F(ConditionalTest, OnlyJsonGetsThatSucceedAreConcerned) {
  auto text = Fetch(Url("/text"));
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.headers.count("etag"), 0u);

  auto missing = Fetch(Url("/missing"), {.headers = {"If-None-Match: *"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers.count("etag"), 0u);
  EXPECT_EQ(missing.headers.count("cache-control"), 0u);

  auto post = Fetch(Url("/json"), {.method = "POST", .headers = {"If-None-Match: *"}, .body = ""});
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.headers.count("etag"), 0u);
}

}  // namespace
}  // namespace uh::server::http::testing
