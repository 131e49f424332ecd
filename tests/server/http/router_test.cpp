// The server-independent vocabulary: routing, percent-decoding, requests and responses.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "server/http/http.hpp"

namespace uh::server::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name); };
}

std::string RouteName(const Router::Match& match) {
  if (match.route == nullptr) return "none";
  Request request;
  return std::get<std::string>(match.route->handler(request).body);
}

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%41"), "a b/cA");
  EXPECT_EQ(*PercentDecode("%e2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(*PercentDecode("plus+stays"), "plus+stays");
  EXPECT_EQ(*PercentDecode(""), "");
}

TEST(PercentDecode, RejectsMalformedEscapesAndNul) {
  for (const char* bad : {"%", "%4", "abc%", "%zz", "%4g", "%00", "a%00b"}) {
    const auto decoded = PercentDecode(bad);
    ASSERT_FALSE(decoded) << bad;
    EXPECT_EQ(decoded.error().code(), Errc::kMalformed) << bad;
  }
  EXPECT_FALSE(PercentDecode(std::string_view("a\0b", 3)));
}

TEST(Router, CapturesSegmentsAndTheRest) {
  Router router;
  router.Add(Method::kGet, "/products/{product}/packages/{package}/objects/{object}",
             Named("object"));
  router.Add(Method::kGet, "/static/{path...}", Named("static"));
  router.Add(Method::kGet, "/", Named("root"));

  auto match = router.Find(Method::kGet, "/products/p1/packages/k2/objects/abc");
  EXPECT_EQ(RouteName(match), "object");
  EXPECT_EQ(match.status, 200);
  EXPECT_THAT(match.params,
              ElementsAre(Pair("object", "abc"), Pair("package", "k2"), Pair("product", "p1")));

  match = router.Find(Method::kGet, "/static/css/site.css");
  EXPECT_EQ(RouteName(match), "static");
  EXPECT_THAT(match.params, ElementsAre(Pair("path", "css/site.css")));

  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/")), "root");
  // A capture takes one whole non-empty segment; the rest needs at least one.
  EXPECT_EQ(router.Find(Method::kGet, "/products//packages/k/objects/o").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/products/p/packages/k/objects/o/x").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/static").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/static/").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "relative").status, 404);
}

TEST(Router, DistinguishesUnknownPathFromWrongMethod) {
  Router router;
  router.Add(Method::kPost, "/upgrades", Named("probe"));
  EXPECT_EQ(router.Find(Method::kPost, "/upgrades").status, 200);
  const auto wrong_method = router.Find(Method::kGet, "/upgrades");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(router.Find(Method::kPost, "/nothing").status, 404);
}

TEST(Router, HeadFallsBackToGet) {
  Router router;
  router.Add(Method::kGet, "/a", Named("get a"));
  router.Add(Method::kGet, "/b", Named("get b"));
  router.Add(Method::kHead, "/b", Named("head b"));
  EXPECT_EQ(RouteName(router.Find(Method::kHead, "/a")), "get a");
  EXPECT_EQ(RouteName(router.Find(Method::kHead, "/b")), "head b");
  router.Add(Method::kPost, "/c", Named("post c"));
  EXPECT_EQ(router.Find(Method::kHead, "/c").status, 405);
}

TEST(Router, NeverCapturesDotSegments) {
  Router router;
  router.Add(Method::kGet, "/objects/{id}", Named("one"));
  router.Add(Method::kGet, "/files/{path...}", Named("rest"));
  EXPECT_EQ(router.Find(Method::kGet, "/objects/..").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/objects/.").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/files/a/../../etc/passwd").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/files/./a").status, 404);
  EXPECT_EQ(router.Find(Method::kGet, "/files/a//b").status, 404);
  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/objects/..hidden")), "one");
  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/files/a/b.c")), "rest");
}

TEST(Router, PrefersLiteralSegmentsWhateverTheOrder) {
  Router router;
  router.Add(Method::kGet, "/products/{id}", Named("capture"));
  router.Add(Method::kGet, "/products/{rest...}", Named("rest"));
  router.Add(Method::kGet, "/products/new", Named("literal"));
  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/products/new")), "literal");
  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/products/42")), "capture");
  EXPECT_EQ(RouteName(router.Find(Method::kGet, "/products/42/x")), "rest");
}

TEST(Router, RejectsInvalidPatterns) {
  Router router;
  for (const char* bad : {"no-slash", "/{}", "/{a", "/a}", "/{rest...}/x", "/x{y}"}) {
    EXPECT_THROW(router.Add(Method::kGet, bad, Named("x")), std::invalid_argument) << bad;
  }
}

TEST(Request, HeaderIsCaseInsensitiveAndParamDefaultsToEmpty) {
  Request request;
  request.headers["content-type"] = "application/json";
  request.params["id"] = "7";
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_EQ(request.Param("id"), "7");
  EXPECT_EQ(request.Param("other"), "");
}

TEST(Response, JsonTextAndError) {
  const auto json = Response::Json(201, {{"a", 1}});
  EXPECT_EQ(json.status, 201);
  EXPECT_EQ(std::get<std::string>(json.body), R"({"a":1})");
  EXPECT_EQ(json.FindHeader("content-type"), "application/json");

  const auto text = Response::Text(200, "hi");
  EXPECT_EQ(std::get<std::string>(text.body), "hi");
  EXPECT_EQ(text.FindHeader("Content-Type"), "text/plain; charset=utf-8");

  const auto error = Response::Error(409, "exists \"x\"");
  EXPECT_EQ(error.status, 409);
  EXPECT_EQ(nlohmann::json::parse(std::get<std::string>(error.body)),
            nlohmann::json({{"error", "exists \"x\""}}));
}

TEST(Response, SetHeaderReplacesWhateverTheCase) {
  Response response;
  response.SetHeader("X-Thing", "1").SetHeader("x-thing", "2").SetHeader("Other", "3");
  EXPECT_EQ(response.headers.size(), 2u);
  EXPECT_EQ(response.FindHeader("X-THING"), "2");
  EXPECT_EQ(response.FindHeader("absent"), std::nullopt);
}

TEST(Response, FromErrorMapsCodesToStatuses) {
  const std::pair<Errc, int> cases[] = {
      {Errc::kInvalidArgument, 400}, {Errc::kMalformed, 400},
      {Errc::kSignature, 422},       {Errc::kIntegrity, 422},
      {Errc::kNotFound, 404},        {Errc::kAlreadyExists, 409},
      {Errc::kTooLarge, 413},        {Errc::kNoSpace, 507},
      {Errc::kUnsupported, 415},     {Errc::kIo, 500},
      {Errc::kInternal, 500},
  };
  for (const auto& [code, status] : cases) {
    const auto response = Response::FromError(uh::Error(code, "why"));
    EXPECT_EQ(response.status, status) << ErrcName(code);
    const auto& body = std::get<std::string>(response.body);
    if (status < 500) {
      EXPECT_EQ(body, R"({"error":"why"})");
    } else {
      // The server's own failures name its files and SQL: those stay in its log.
      EXPECT_EQ(body.find("why"), std::string::npos) << body;
      EXPECT_NE(body.find("server log"), std::string::npos) << body;
    }
  }
}

TEST(MethodName, NamesEveryMethod) {
  EXPECT_EQ(MethodName(Method::kGet), "GET");
  EXPECT_EQ(MethodName(Method::kHead), "HEAD");
  EXPECT_EQ(MethodName(Method::kDelete), "DELETE");
  EXPECT_EQ(MethodName(Method::kOptions), "OPTIONS");
}

}  // namespace
}  // namespace uh::server::http
