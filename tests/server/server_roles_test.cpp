// updatehub-server over real HTTP: roles (admin, release-manager, viewer), users limited to some
// products, API tokens with scopes, expiry, listing and revocation, and the audit log's
// "before" values.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "core/hash.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kOtherProduct =
    "0000000000000000000000000000000000000000000000000000000000000b0b";

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto other = server_.Api("POST", "/api/v1/products", {{"uid", kOtherProduct}, {"name", "b"}});
    ASSERT_EQ(other.status, 201) << other.body;
    admin_token_ = server_.token;
  }

  // Creates a user with `role` (and products) and returns a session token of theirs.
  std::string UserToken(const std::string& name, const std::string& role,
                        const json& products = json::array()) {
    auto created = server_.Api("POST", "/api/v1/users",
                               {{"username", name},
                                {"password", "tulip engine 41"},
                                {"role", role},
                                {"products", products}});
    EXPECT_EQ(created.status, 201) << created.body;
    auto login = Fetch(server_.Url("/api/v1/login"),
                       {.method = "POST",
                        .body = json{{"username", name}, {"password", "tulip engine 41"}}.dump()});
    EXPECT_EQ(login.status, 200) << login.body;
    return json::parse(login.body).value("token", "");
  }

  // The management API as the holder of `token`.
  FetchResult As(const std::string& token, const std::string& method, const std::string& path,
                 const json& body = nullptr) {
    server_.token = token;
    auto result = server_.Api(method, path, body);
    server_.token = admin_token_;
    return result;
  }
  FetchResult UploadAs(const std::string& token) {
    server_.token = token;
    auto result = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    server_.token = admin_token_;
    return result;
  }

  std::string Product(const std::string& uid = kConformanceProduct) {
    return "/api/v1/products/" + uid;
  }
  std::int64_t KeyId() {
    auto keys = json::parse(server_.Api("GET", Product() + "/keys").body)["keys"];
    return keys.empty() ? 0 : keys[0]["id"].get<std::int64_t>();
  }

  ServerFixture server_;
  std::string admin_token_;
};

TEST_F(RolesTest, AViewerOnlyReads) {
  const std::string viewer = UserToken("vic", "viewer");
  ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  EXPECT_EQ(As(viewer, "GET", "/api/v1/products").status, 200);
  EXPECT_EQ(As(viewer, "GET", Product() + "/keys").status, 200);
  EXPECT_EQ(As(viewer, "GET", "/api/v1/packages/" + kUid).status, 200);
  auto refused = As(viewer, "POST", Product() + "/rollouts", {{"package", kUid}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("rollouts:write"));
  EXPECT_EQ(UploadAs(viewer).status, 403);
  EXPECT_EQ(As(viewer, "DELETE", "/api/v1/packages/" + kUid).status, 403);
  EXPECT_EQ(As(viewer, "PATCH", Product(), {{"forbid_downgrades", true}}).status, 403);
  EXPECT_EQ(As(viewer, "POST", Product() + "/device-token").status, 403);
  EXPECT_EQ(As(viewer, "DELETE", "/api/v1/keys/" + std::to_string(KeyId())).status, 403);
  EXPECT_EQ(As(viewer, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(As(viewer, "GET", "/api/v1/audit").status, 403);
  auto me = json::parse(As(viewer, "GET", "/api/v1/users/me").body);
  EXPECT_EQ(me["role"], "viewer");
  EXPECT_EQ(me["token_scopes"], json::array({"read"}));
  // Nothing changed.
  EXPECT_GT(KeyId(), 0);
  EXPECT_FALSE(json::parse(server_.Api("GET", Product()).body)["forbid_downgrades"].get<bool>());
}

// A release manager ships: packages and rollouts, nothing about keys, products or people. In
// particular it cannot delete the admin's signing key and register one of its own.
TEST_F(RolesTest, AReleaseManagerShipsButCannotTouchKeysOrPeople) {
  const std::string manager = UserToken("rel", "release-manager");
  auto uploaded = UploadAs(manager);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  auto rollout = As(manager, "POST", Product() + "/rollouts", {{"package", kUid}});
  ASSERT_EQ(rollout.status, 201) << rollout.body;
  const auto id = json::parse(rollout.body)["id"].get<std::int64_t>();
  EXPECT_EQ(As(manager, "POST", "/api/v1/rollouts/" + std::to_string(id) + "/pause").status, 200);

  const std::int64_t key = KeyId();
  EXPECT_EQ(As(manager, "DELETE", "/api/v1/keys/" + std::to_string(key)).status, 403);
  const std::string pem = uh::testing::ReadFile(uh::testing::TestPackagesDir() / "key.pub");
  EXPECT_EQ(
      As(manager, "POST", Product() + "/keys", {{"name", "mine"}, {"public_key", pem}}).status,
      403);
  EXPECT_EQ(As(manager, "PATCH", Product(), {{"forbid_downgrades", true}}).status, 403);
  EXPECT_EQ(As(manager, "DELETE", Product() + "/device-token").status, 403);
  EXPECT_EQ(As(manager, "POST", "/api/v1/products", {{"name", "x"}}).status, 403);
  EXPECT_EQ(As(manager, "POST", "/api/v1/users",
               {{"username", "evil"}, {"password", "evil password 9"}, {"role", "admin"}})
                .status,
            403);
  EXPECT_EQ(KeyId(), key);
}

TEST_F(RolesTest, AUserLimitedToAProductSeesAndChangesOnlyThat) {
  const std::string limited = UserToken("bob", "release-manager", json::array({kOtherProduct}));
  auto products = json::parse(As(limited, "GET", "/api/v1/products").body)["products"];
  ASSERT_EQ(products.size(), 1u);
  EXPECT_EQ(products[0]["uid"], kOtherProduct);
  EXPECT_EQ(As(limited, "GET", Product()).status, 403);
  EXPECT_EQ(As(limited, "GET", Product(kOtherProduct)).status, 200);
  EXPECT_EQ(
      As(limited, "GET", std::string("/api/v1/packages?product=") + kConformanceProduct).status,
      403);
  EXPECT_EQ(As(limited, "GET", "/api/v1/devices").status, 403);
  EXPECT_EQ(As(limited, "GET", std::string("/api/v1/devices?product=") + kOtherProduct).status,
            200);
  EXPECT_EQ(As(limited, "GET", "/api/v1/reports").status, 403);

  // The package is of the other product: refused, and not stored.
  auto upload = UploadAs(limited);
  EXPECT_EQ(upload.status, 403);
  EXPECT_THAT(upload.body, HasSubstr(kConformanceProduct));
  EXPECT_EQ(server_.Api("GET", "/api/v1/packages/" + kUid).status, 404);

  ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  EXPECT_EQ(As(limited, "GET", "/api/v1/packages/" + kUid).status, 403);
  EXPECT_EQ(As(limited, "POST", Product() + "/rollouts", {{"package", kUid}}).status, 403);
  auto rollout = server_.Api("POST", Product() + "/rollouts", {{"package", kUid}});
  ASSERT_EQ(rollout.status, 201);
  const std::string path =
      "/api/v1/rollouts/" + std::to_string(json::parse(rollout.body)["id"].get<int>());
  EXPECT_EQ(As(limited, "GET", path).status, 403);
  EXPECT_EQ(As(limited, "POST", path + "/pause").status, 403);
  EXPECT_EQ(json::parse(server_.Api("GET", path).body)["state"], "running");

  // A device of the product the user may not see.
  ASSERT_EQ(server_.Probe(ServerFixture::DeviceBody("d1", "0.9")).status, 200);
  auto devices = json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"];
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(As(limited, "GET", "/api/v1/devices/" + devices[0]["id"].dump()).status, 403);
  EXPECT_EQ(As(limited, "GET", "/api/v1/reports?device=" + devices[0]["id"].dump()).status, 403);
}

TEST_F(RolesTest, TokensCarryScopesAndExpireAndCanBeRevoked) {
  auto created = server_.Api("POST", "/api/v1/tokens",
                             {{"name", "ci read"}, {"scopes", {"read"}}, {"expires_in_days", 7}});
  ASSERT_EQ(created.status, 201) << created.body;
  const json token = json::parse(created.body);
  const std::string secret = token["token"];
  EXPECT_EQ(token["scopes"], json::array({"read"}));
  EXPECT_EQ(token["id"], Sha256Hex(secret).substr(0, 16));
  // Seven days from now, to the day.
  const auto expires = ParseTime(token["expires_at"].get<std::string>());
  ASSERT_TRUE(expires);
  const auto in = *expires - std::chrono::system_clock::now();
  EXPECT_GT(in, std::chrono::hours(24 * 7 - 1));
  EXPECT_LE(in, std::chrono::hours(24 * 7));

  EXPECT_EQ(As(secret, "GET", "/api/v1/products").status, 200);
  auto refused = As(secret, "POST", Product() + "/rollouts", {{"package", kUid}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("rollouts:write"));
  EXPECT_EQ(As(secret, "GET", "/api/v1/users").status, 403) << "an admin's token, read only";
  // A token cannot make a stronger one.
  auto stronger =
      As(secret, "POST", "/api/v1/tokens", {{"name", "x"}, {"scopes", {"read", "keys:write"}}});
  EXPECT_EQ(stronger.status, 403);
  EXPECT_THAT(stronger.body, HasSubstr("keys:write"));
  EXPECT_EQ(As(secret, "POST", "/api/v1/tokens", {{"name", "same"}, {"scopes", {"read"}}}).status,
            201);

  // Bad requests.
  EXPECT_EQ(server_.Api("POST", "/api/v1/tokens", {{"name", "x"}, {"scopes", {"root"}}}).status,
            400);
  EXPECT_EQ(
      server_.Api("POST", "/api/v1/tokens", {{"name", "x"}, {"scopes", json::array()}}).status,
      400);
  EXPECT_EQ(server_.Api("POST", "/api/v1/tokens", {{"name", "x"}, {"expires_in_days", 0}}).status,
            400);
  EXPECT_EQ(server_.Api("POST", "/api/v1/tokens", {{"name", "x"}, {"expires_in_days", 400}}).status,
            400);
  EXPECT_EQ(server_.Api("POST", "/api/v1/tokens", {{"name", "x"}, {"forever", true}}).status, 400);
  EXPECT_EQ(server_.Api("POST", "/api/v1/tokens", {{"name", ""}}).status, 400);

  // Listed with name, scopes and last use, never the secret.
  auto listed = server_.Api("GET", "/api/v1/tokens");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr(secret)));
  bool found = false;
  const json tokens = json::parse(listed.body)["tokens"];
  for (const auto& item : tokens) {
    if (item["id"] != token["id"]) continue;
    found = true;
    EXPECT_EQ(item["name"], "ci read");
    EXPECT_EQ(item["kind"], "api");
    EXPECT_EQ(item["scopes"], json::array({"read"}));
    EXPECT_FALSE(item["last_used_at"].get<std::string>().empty());
    EXPECT_FALSE(item["current"].get<bool>());
  }
  EXPECT_TRUE(found) << listed.body;

  // Another user sees only its own tokens, and cannot revoke the admin's.
  const std::string viewer = UserToken("vic", "viewer");
  auto theirs = json::parse(As(viewer, "GET", "/api/v1/tokens").body)["tokens"];
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_TRUE(theirs[0]["current"].get<bool>());
  EXPECT_EQ(As(viewer, "GET", "/api/v1/tokens?user=all").status, 403);
  EXPECT_EQ(As(viewer, "DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status, 404);
  EXPECT_EQ(As(secret, "GET", "/api/v1/products").status, 200);

  // Revoked: refused at once.
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status, 200);
  EXPECT_EQ(As(secret, "GET", "/api/v1/products").status, 401);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/tokens/" + token["id"].get<std::string>()).status, 404);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/tokens/nothex").status, 400);
  // An admin may list and revoke everyone's.
  auto all = json::parse(server_.Api("GET", "/api/v1/tokens?user=all").body)["tokens"];
  EXPECT_GE(all.size(), 3u);
  EXPECT_EQ(server_.Api("DELETE", "/api/v1/tokens/" + theirs[0]["id"].get<std::string>()).status,
            200);
  EXPECT_EQ(As(viewer, "GET", "/api/v1/products").status, 401);
}

// A role change applies to the user's existing tokens at once; the last administrator of every
// product cannot be demoted.
TEST_F(RolesTest, RoleChangesApplyAtOnceAndTheLastAdminStays) {
  const std::string manager = UserToken("rel", "release-manager");
  ASSERT_EQ(UploadAs(manager).status, 201);
  auto users = json::parse(server_.Api("GET", "/api/v1/users").body)["users"];
  std::string rel_id;
  std::string admin_id;
  for (const auto& user : users) {
    (user["name"] == "rel" ? rel_id : admin_id) = user["id"].dump();
  }
  auto demoted = server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"role", "viewer"}});
  ASSERT_EQ(demoted.status, 200) << demoted.body;
  EXPECT_EQ(json::parse(demoted.body)["role"], "viewer");
  EXPECT_EQ(As(manager, "POST", Product() + "/rollouts", {{"package", kUid}}).status, 403);
  EXPECT_EQ(server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"role", "root"}}).status, 400);
  EXPECT_EQ(server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"password", "x"}}).status, 400);
  EXPECT_EQ(server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"products", {"not-a-uid"}}}).status,
            400);
  EXPECT_EQ(
      server_
          .Api("PATCH", "/api/v1/users/" + rel_id,
               {{"products", {"1111111111111111111111111111111111111111111111111111111111111111"}}})
          .status,
      400)
      << "an unknown product";

  auto last = server_.Api("PATCH", "/api/v1/users/" + admin_id, {{"role", "viewer"}});
  EXPECT_EQ(last.status, 400);
  EXPECT_THAT(last.body, HasSubstr("last administrator"));
  // With a second administrator, the first may step down.
  ASSERT_EQ(server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"role", "admin"}}).status, 200);
  EXPECT_EQ(server_.Api("PATCH", "/api/v1/users/" + admin_id, {{"role", "viewer"}}).status, 200);
  EXPECT_EQ(server_.Api("GET", "/api/v1/users").status, 403);
}

// Changes that alter or remove something keep, in the audit log, what it was before.
TEST_F(RolesTest, TheAuditLogKeepsWhatAChangeReplaced) {
  const std::string manager = UserToken("rel", "release-manager");
  auto users = json::parse(server_.Api("GET", "/api/v1/users").body)["users"];
  std::string rel_id;
  for (const auto& user : users) {
    if (user["name"] == "rel") rel_id = user["id"].dump();
  }
  ASSERT_EQ(server_.Api("PATCH", "/api/v1/users/" + rel_id, {{"role", "viewer"}}).status, 200);
  const std::int64_t key = KeyId();
  auto key_json = json::parse(server_.Api("GET", Product() + "/keys").body)["keys"][0];
  ASSERT_EQ(server_.Api("DELETE", "/api/v1/keys/" + std::to_string(key)).status, 200);
  ASSERT_EQ(server_.Api("PATCH", Product(), {{"forbid_downgrades", true}}).status, 200);
  // A refused attempt is on the record too.
  EXPECT_EQ(As(manager, "PATCH", Product(), {{"forbid_downgrades", false}}).status, 403);

  auto rows = json::parse(server_.Api("GET", "/api/v1/audit?limit=20").body)["audit"];
  auto find = [&](const std::string& action, int status) -> json {
    for (const auto& row : rows) {
      if (row["action"] == action && row["status"] == status)
        return json::parse(row["detail"].get<std::string>());
    }
    return nullptr;
  };
  auto role = find("PATCH /api/v1/users/{id}", 200);
  ASSERT_FALSE(role.is_null());
  EXPECT_EQ(role["before"]["role"], "release-manager");
  EXPECT_EQ(role["response"]["role"], "viewer");
  auto deleted = find("DELETE /api/v1/keys/{id}", 200);
  ASSERT_FALSE(deleted.is_null());
  EXPECT_EQ(deleted["before"]["fingerprint"], key_json["fingerprint"]);
  auto patched = find("PATCH /api/v1/products/{product}", 200);
  ASSERT_FALSE(patched.is_null());
  EXPECT_FALSE(patched["before"]["forbid_downgrades"].get<bool>());
  auto refused = find("PATCH /api/v1/products/{product}", 403);
  ASSERT_FALSE(refused.is_null());
  for (const auto& row : rows) {
    if (row["status"] == 403) {
      EXPECT_EQ(row["actor"], "rel");
    }
  }
}

// The OpenAPI document names each operation's scope, and the server enforces that very scope:
// a token holding every scope but that one is refused with 403 naming it.
TEST_F(RolesTest, EachOperationNeedsTheScopeItsOpenApiEntryNames) {
  const std::string yaml = Fetch(server_.Url("/api/v1/openapi.yaml")).body;
  struct Operation {
    std::string method;
    std::string path;
    std::string scope;
  };
  std::vector<Operation> operations;
  std::string path;
  std::istringstream lines(yaml);
  const std::regex path_line(R"(^  (/api/v1/\S+):\s*$)");
  const std::regex method_line(R"(^    (get|post|put|patch|delete):(.*)$)");
  const std::regex scope_text(R"re(x-required-scope: "([a-z:]+)")re");
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, path_line)) {
      path = match[1];
    } else if (line.starts_with("  /")) {
      path.clear();
    } else if (!path.empty() && std::regex_match(line, match, method_line)) {
      operations.push_back({match[1], path, ""});
    }
    if (std::smatch scope; !operations.empty() && std::regex_search(line, scope, scope_text)) {
      operations.back().scope = scope[1];
    }
  }
  ASSERT_GE(operations.size(), 30u);
  const std::vector<std::string> all = {"read",          "packages:write", "rollouts:write",
                                        "devices:write", "products:write", "keys:write",
                                        "users:write",   "audit:read"};
  for (const auto& operation : operations) {
    if (operation.path == "/api/v1/login" || operation.path == "/api/v1/openapi.yaml") continue;
    SCOPED_TRACE(operation.method + " " + operation.path);
    ASSERT_FALSE(operation.scope.empty()) << "no x-required-scope";
    if (operation.scope == "any") continue;
    ASSERT_NE(std::ranges::find(all, operation.scope), all.end()) << operation.scope;
    json others = json::array();
    for (const auto& scope : all) {
      if (scope != operation.scope) others.push_back(scope);
    }
    auto created = server_.Api("POST", "/api/v1/tokens", {{"name", "all but"}, {"scopes", others}});
    ASSERT_EQ(created.status, 201) << created.body;
    std::string target = operation.path;
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"{product}", kConformanceProduct},
                                                          {"{uid}", kUid},
                                                          {"{id}", "1"},
                                                          {"{action}", "pause"}}) {
      if (auto at = target.find(name); at != std::string::npos)
        target.replace(at, name.size(), value);
    }
    std::string method = operation.method;
    std::ranges::transform(method, method.begin(),
                           [](char c) { return static_cast<char>(std::toupper(c)); });
    auto answer = As(json::parse(created.body)["token"], method, target,
                     method == "GET" ? json(nullptr) : json::object());
    EXPECT_EQ(answer.status, 403) << answer.body;
    EXPECT_THAT(answer.body, HasSubstr(operation.scope));
    EXPECT_EQ(Fetch(server_.Url(target), {.method = method}).status, 401);
  }
}

}  // namespace
}  // namespace uh::server::testing
