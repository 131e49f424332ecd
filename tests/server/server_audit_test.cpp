// The audit log: every change through the API and every login attempt leaves a row with who,
// which token, from where and what; secrets never do; the rows form a chain that shows an edit
// or a deletion made behind the server's back.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "server/audit.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json AuditRows(ServerFixture& server, const std::string& query = "") {
  auto listed = server.Api("GET", "/api/v1/audit" + query);
  EXPECT_EQ(listed.status, 200) << listed.body;
  return json::parse(listed.body)["audit"];
}

// Runs SQL on the server's database behind its back (the server stopped); returns the error
// message, "" on success.
std::string Sql(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
  std::string message = rc == SQLITE_OK ? "" : (error != nullptr ? error : "error");
  sqlite3_free(error);
  sqlite3_close(handle);
  return message;
}

AuditLog::Verdict VerifyStore(const ServerFixture& server) {
  auto store = OpenStore("sqlite:" + (server.dir / "data/updatehub.db").string());
  EXPECT_TRUE(store) << store.error().message();
  AuditLog audit(**store);
  auto verdict = audit.Verify();
  EXPECT_TRUE(verdict) << verdict.error().message();
  return *verdict;
}

TEST(ServerAudit, EveryChangeAndLoginLeavesARowWithWhoAndFromWhere) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  ASSERT_EQ(server.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  auto rollout =
      server.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                 {{"package", kUid}, {"stages", {100}}});
  ASSERT_EQ(rollout.status, 201) << rollout.body;
  const auto rollout_id = json::parse(rollout.body)["id"].get<std::int64_t>();
  ASSERT_EQ(server.Api("POST", "/api/v1/rollouts/" + std::to_string(rollout_id) + "/pause").status,
            200);
  EXPECT_EQ(Fetch(server.Url("/api/v1/login"),
                  {.method = "POST",
                   .body = json{{"username", "mallory"}, {"password", "guess number 1"}}.dump()})
                .status,
            401);

  const json rows = AuditRows(server);
  std::set<std::string> actions;
  for (const auto& row : rows) {
    actions.insert(row["action"].get<std::string>());
    EXPECT_EQ(row["address"], "127.0.0.1") << row.dump();
    if (row["action"] == "login.failed") {
      EXPECT_EQ(row["actor"], "mallory");
      EXPECT_EQ(row["status"], 401);
      EXPECT_EQ(row["user_id"], 0);
      continue;
    }
    EXPECT_EQ(row["actor"], "admin") << row.dump();
    EXPECT_THAT(row["token"].get<std::string>(), ::testing::StartsWith("sha256:")) << row.dump();
  }
  for (const char* action :
       {"login", "login.failed", "POST /api/v1/products", "POST /api/v1/products/{product}/keys",
        "POST /api/v1/packages", "POST /api/v1/products/{product}/rollouts",
        "POST /api/v1/rollouts/{id}/{action}"}) {
    EXPECT_TRUE(actions.contains(action)) << action << " not in the audit log";
  }
  // What was done to what: the pause names the rollout, the upload the package it stored.
  bool paused = false;
  bool uploaded = false;
  for (const auto& row : rows) {
    const json detail = json::parse(row["detail"].get<std::string>());
    if (row["action"] == "POST /api/v1/rollouts/{id}/{action}") {
      paused = row["target"] == std::to_string(rollout_id) &&
               detail["params"]["action"] == "pause" && detail["response"]["state"] == "paused";
    }
    if (row["action"] == "POST /api/v1/packages") {
      uploaded = row["target"] == kUid && row["status"] == 201;
    }
  }
  EXPECT_TRUE(paused) << rows.dump(1);
  EXPECT_TRUE(uploaded) << rows.dump(1);
  // Newest first, with filters.
  EXPECT_GT(rows[0]["id"].get<std::int64_t>(), rows[1]["id"].get<std::int64_t>());
  const json failed = AuditRows(server, "?action=login.failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["actor"], "mallory");
  EXPECT_EQ(AuditRows(server, "?actor=mallory&action=login").size(), 0u);
}

TEST(ServerAudit, SecretsNeverReachTheLogAndRefusedCallsAreRecorded) {
  ServerFixture server;
  auto token = server.Api("POST", "/api/v1/tokens", {{"name", "ci"}});
  ASSERT_EQ(token.status, 201);
  const std::string secret = json::parse(token.body)["token"];
  ASSERT_EQ(
      server.Api("POST", "/api/v1/users", {{"username", "ops"}, {"password", "tulip engine 41"}})
          .status,
      201);
  auto login = Fetch(server.Url("/api/v1/login"),
                     {.method = "POST",
                      .body = json{{"username", "ops"}, {"password", "tulip engine 41"}}.dump()});
  ASSERT_EQ(login.status, 200);
  const std::string ops = json::parse(login.body)["token"];
  // Not an administrator: refused, and on the record.
  auto refused =
      Fetch(server.Url("/api/v1/users"),
            {.method = "POST",
             .headers = {"Authorization: Bearer " + ops},
             .body = json{{"username", "evil"}, {"password", "tulip engine 43"}}.dump()});
  ASSERT_EQ(refused.status, 403);
  // Without a valid token: refused, and nobody to record.
  ASSERT_EQ(Fetch(server.Url("/api/v1/products"),
                  {.method = "POST",
                   .headers = {"Authorization: Bearer " + std::string(64, '0')},
                   .body = R"({"name": "x"})"})
                .status,
            401);

  auto exported = server.Api("GET", "/api/v1/audit?format=jsonl");
  ASSERT_EQ(exported.status, 200);
  EXPECT_THAT(exported.body, Not(HasSubstr(secret)));
  EXPECT_THAT(exported.body, Not(HasSubstr(ops)));
  EXPECT_THAT(exported.body, Not(HasSubstr("tulip engine")));
  EXPECT_THAT(exported.body, Not(HasSubstr("\"name\":\"x\"")));
  bool found_refusal = false;
  std::size_t lines = 0;
  std::istringstream in(exported.body);
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line);
    ++lines;
    if (row["actor"] == "ops" && row["action"] == "POST /api/v1/users") {
      found_refusal = row["status"] == 403;
    }
  }
  EXPECT_TRUE(found_refusal) << exported.body;
  EXPECT_EQ(lines, AuditRows(server).size());
  auto csv = server.Api("GET", "/api/v1/audit?format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_THAT(csv.body, ::testing::StartsWith("id,at,actor,user_id,token,address,action,"));
  // Only administrators read it.
  EXPECT_EQ(
      Fetch(server.Url("/api/v1/audit"), {.headers = {"Authorization: Bearer " + ops}}).status,
      403);
}

TEST(ServerAudit, TheChainShowsAnEditedOrDeletedRow) {
  ServerFixture server;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(server.Api("POST", "/api/v1/products", {{"name", "p" + std::to_string(i)}}).status,
              201);
  }
  auto verified = server.Api("GET", "/api/v1/audit/verify");
  ASSERT_EQ(verified.status, 200);
  EXPECT_EQ(json::parse(verified.body)["ok"], true) << verified.body;
  EXPECT_EQ(json::parse(verified.body)["rows"], 5) << verified.body;  // the fixture's login too
  server.Stop();
  const auto db = server.dir / "data/updatehub.db";

  // The database refuses edits and deletions...
  EXPECT_THAT(Sql(db, "UPDATE audit SET actor = 'mallory' WHERE id = 3"), HasSubstr("append-only"));
  EXPECT_THAT(Sql(db, "DELETE FROM audit WHERE id = 2"), HasSubstr("append-only"));
  EXPECT_FALSE(VerifyStore(server).first_bad_id);
  // ... and one made anyway, the triggers dropped, breaks the chain at that row.
  ASSERT_EQ(Sql(db,
                "DROP TRIGGER audit_is_append_only_update;"
                "UPDATE audit SET actor = 'mallory' WHERE id = 3"),
            "");
  auto edited = VerifyStore(server);
  ASSERT_TRUE(edited.first_bad_id);
  EXPECT_EQ(*edited.first_bad_id, 3);
  EXPECT_EQ(edited.rows, 2u);
  EXPECT_THAT(edited.reason, HasSubstr("edited"));

  ASSERT_EQ(Sql(db, "UPDATE audit SET actor = 'admin' WHERE id = 3"), "");
  EXPECT_FALSE(VerifyStore(server).first_bad_id);
  ASSERT_EQ(Sql(db, "DROP TRIGGER audit_is_append_only_delete; DELETE FROM audit WHERE id = 2"),
            "");
  auto deleted = VerifyStore(server);
  ASSERT_TRUE(deleted.first_bad_id);
  EXPECT_EQ(*deleted.first_bad_id, 3);
  EXPECT_THAT(deleted.reason, HasSubstr("row 2 is missing"));

  // The server says so too.
  server.Start();
  auto broken = json::parse(server.Api("GET", "/api/v1/audit/verify").body);
  EXPECT_EQ(broken["ok"], false);
  EXPECT_EQ(broken["first_bad_id"], 3);
}

}  // namespace
}  // namespace uh::server::testing
