// The dashboard's second set of routes, over real HTTP: retrying failed devices, who paused a
// rollout, a device's history, the audit export, conditional GET, and rollout selections that
// other rollouts already hold.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  static std::string Product() { return std::string("/api/v1/products/") + kConformanceProduct; }

  // A device introduces itself (no rollout yet: 404); returns its id.
  std::int64_t Introduce(const std::string& serial, const std::string& version = "0.9") {
    EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody(serial, version)).status, 404);
    auto found = Get("/api/v1/devices?product=" + std::string(kConformanceProduct) +
                     "&identity.serial=" + serial);
    EXPECT_EQ(found["devices"].size(), 1u) << found;
    return found["devices"].empty() ? 0 : found["devices"][0]["id"].get<std::int64_t>();
  }

  json Get(const std::string& path) {
    auto answer = server_.Api("GET", path);
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body;
    return json::parse(answer.body, nullptr, false);
  }

  // Creates a rollout of the test package; returns its path (/api/v1/rollouts/ID).
  std::string Create(json definition) {
    definition["package"] = kUid;
    auto created = server_.Api("POST", Product() + "/rollouts", definition);
    EXPECT_EQ(created.status, 201) << created.body;
    return "/api/v1/rollouts/" + std::to_string(json::parse(created.body)["id"].get<int>());
  }

  // The device is offered the package and reports an error, with `log` as its log.
  void Fail(const std::string& serial, const std::string& log = "log line\n") {
    json device = ServerFixture::DeviceBody(serial, "0.9");
    ASSERT_EQ(server_.Probe(device).status, 200);
    device["status"] = "error";
    device["package-uid"] = kUid;
    device["previous-state"] = "installing";
    device["error-message"] = "no space on /data";
    device["current-log"] = log;
    auto reported = Fetch(server_.Url("/report"),
                          {.method = "POST",
                           .headers = {"Content-Type: application/json",
                                       "Api-Content-Type: application/vnd.updatehub-v1+json"},
                           .body = device.dump()});
    ASSERT_EQ(reported.status, 200) << reported.body;
  }

  void Update(const std::string& serial) {
    json device = ServerFixture::DeviceBody(serial, "0.9");
    ASSERT_EQ(server_.Probe(device).status, 200);
    for (const char* status : {"downloading", "installing", "rebooting"}) {
      ASSERT_EQ(server_.Report(device, status, kUid).status, 200);
    }
    device["version"] = "1.0.0";
    EXPECT_EQ(server_.Probe(device).status, 404);
  }

  static std::int64_t Count(const json& rollout, const char* state) {
    return rollout["statistics"]["states"][state]["count"].get<std::int64_t>();
  }

  ServerFixture server_;
};

TEST_F(DashboardApiTest, RetryGivesFailedDevicesANewAttemptThatCountsOnce) {
  const std::int64_t a = Introduce("a");
  const std::int64_t b = Introduce("b");
  const std::int64_t c = Introduce("c");
  Introduce("d");
  const std::string path = Create({{"failure_threshold", {{"count", 1}}}});
  Update("c");
  Fail("a");
  Fail("b");
  json paused = Get(path);
  ASSERT_EQ(paused["state"], "paused") << paused;
  EXPECT_TRUE(paused["paused_by"].is_null());  // the server paused it: the failure threshold
  EXPECT_TRUE(paused["paused_at"].is_string());
  EXPECT_EQ(Count(paused, "failed"), 2);

  // Refused, changing nothing: devices that are not failed members, bad bodies.
  auto not_failed = server_.Api("POST", path + "/retry", {{"devices", {a, c}}});
  EXPECT_EQ(not_failed.status, 409);
  EXPECT_THAT(not_failed.body, HasSubstr("have not failed: " + std::to_string(c)));
  auto stranger = server_.Api("POST", path + "/retry", {{"devices", {a, 99999}}});
  EXPECT_EQ(stranger.status, 400);
  EXPECT_THAT(stranger.body, HasSubstr("no device of this rollout: 99999"));
  EXPECT_EQ(server_.Api("POST", path + "/retry", {{"devices", "all"}}).status, 400);
  EXPECT_EQ(server_.Api("POST", path + "/retry", {{"device", {a}}}).status, 400);
  EXPECT_EQ(Count(Get(path), "failed"), 2);

  // One listed device, then every failed one (no body). The rollout stays paused.
  auto one = server_.Api("POST", path + "/retry", {{"devices", {a}}});
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["retried_devices"], json({a}));
  auto rest = server_.Api("POST", path + "/retry");
  ASSERT_EQ(rest.status, 200) << rest.body;
  const json retried = json::parse(rest.body);
  EXPECT_EQ(retried["retried_devices"], json({b}));
  EXPECT_EQ(retried["state"], "paused");
  EXPECT_EQ(Count(retried, "failed"), 0);
  EXPECT_EQ(Count(retried, "pending"), 3);
  EXPECT_EQ(server_.Api("POST", path + "/retry").status, 409);  // none failed now
  auto devices = Get(path + "/devices?state=pending");
  ASSERT_EQ(devices["devices"].size(), 3u);
  EXPECT_EQ(devices["devices"][0]["retries"], 1);
  EXPECT_EQ(devices["devices"][0]["error_message"], "");

  // Resumed (the failures no longer count), a retried device is offered the package again;
  // failing again it counts once.
  ASSERT_EQ(server_.Api("POST", path + "/resume").status, 200);
  Fail("a");
  json after = Get(path);
  EXPECT_EQ(after["state"], "running");
  EXPECT_EQ(Count(after, "failed"), 1);
  EXPECT_EQ(after["statistics"]["total"], 4);

  // The call is in the audit log like every rollout action.
  auto rows = Get("/api/v1/audit?action=POST%20/api/v1/rollouts/%7Bid%7D/retry");
  ASSERT_EQ(rows["audit"].size(), 7u) << rows;
  EXPECT_EQ(rows["audit"][0]["status"], 409);
  EXPECT_EQ(rows["audit"][1]["status"], 200);
  EXPECT_THAT(rows["audit"][1]["detail"].get<std::string>(), HasSubstr("\"before\""));

  // A stopped rollout no longer holds its devices: refused, saying what to do.
  ASSERT_EQ(server_.Api("POST", path + "/stop").status, 200);
  auto stopped = server_.Api("POST", path + "/retry");
  EXPECT_EQ(stopped.status, 409);
  EXPECT_THAT(stopped.body, HasSubstr("create a rollout for the failed ones"));
}

TEST_F(DashboardApiTest, APauseSaysWhoAndWhenAsFields) {
  Introduce("p1");
  const std::string path = Create({{"stages", {100}}});
  json running = Get(path);
  EXPECT_TRUE(running["paused_by"].is_null());
  EXPECT_TRUE(running["paused_at"].is_null());
  auto paused = server_.Api("POST", path + "/pause");
  ASSERT_EQ(paused.status, 200);
  const json shown = Get(path);
  EXPECT_EQ(shown["paused_by"], "admin");
  ASSERT_TRUE(shown["paused_at"].is_string());
  EXPECT_EQ(shown["hold_reason"],
            "paused: paused by admin at " + shown["paused_at"].get<std::string>());
  EXPECT_EQ(Get(Product() + "/rollouts")["rollouts"][0]["paused_by"], "admin");
  ASSERT_EQ(server_.Api("POST", path + "/resume").status, 200);
  EXPECT_TRUE(Get(path)["paused_by"].is_null());
  EXPECT_TRUE(Get(path)["paused_at"].is_null());
}

TEST_F(DashboardApiTest, DeviceHistoryHasReportsVersionsAndRollouts) {
  const std::int64_t id = Introduce("h1");
  const std::string first = Create({{"devices", {id, Introduce("h2")}}});
  // A log longer than the excerpt: the excerpt is its end, from a line start.
  std::string log;
  for (int i = 0; i < 400; ++i) log += "line " + std::to_string(i) + " of the installer\n";
  Fail("h1", log);
  ASSERT_EQ(server_.Api("POST", first + "/retry").status, 200);
  Update("h1");  // 1.0.0 now
  ASSERT_EQ(server_.Api("POST", first + "/stop").status, 200);

  const std::string history = "/api/v1/devices/" + std::to_string(id) + "/history";
  json shown = Get(history);
  ASSERT_EQ(shown["versions"].size(), 2u) << shown;
  EXPECT_EQ(shown["versions"][0]["version"], "1.0.0");
  EXPECT_EQ(shown["versions"][1]["version"], "0.9");
  EXPECT_TRUE(shown["versions"][0]["since"].is_string());
  ASSERT_EQ(shown["rollouts"].size(), 1u);
  const json& place = shown["rollouts"][0];
  EXPECT_EQ("/api/v1/rollouts/" + std::to_string(place["rollout_id"].get<int>()), first);
  EXPECT_EQ(place["state"], "updated");
  EXPECT_EQ(place["rollout_state"], "stopped");
  EXPECT_EQ(place["active"], false);
  EXPECT_EQ(place["retries"], 1);
  EXPECT_EQ(place["package_version"], "1.0.0");
  // Reports newest first: rebooting, installing, downloading, error.
  ASSERT_EQ(shown["reports"].size(), 4u);
  const json& error = shown["reports"][3];
  EXPECT_EQ(error["status"], "error");
  EXPECT_EQ(error["error_message"], "no space on /data");
  EXPECT_EQ(error["log_truncated"], true);
  const std::string excerpt = error["log_excerpt"];
  EXPECT_LE(excerpt.size(), 4096u);
  EXPECT_THAT(excerpt, StartsWith("line "));
  EXPECT_TRUE(log.ends_with(excerpt));
  EXPECT_TRUE(shown["next"]["reports_before"].is_null());

  // A second rollout, then paging one section at a time.
  Introduce("h1", "0.8");
  Create({{"devices", {id}}});
  json page = Get(history + "?limit=1");
  ASSERT_EQ(page["rollouts"].size(), 1u);
  EXPECT_EQ(page["rollouts"][0]["active"], true);
  EXPECT_EQ(page["rollouts"][0]["rollout_state"], "running");
  ASSERT_FALSE(page["next"]["rollouts_before"].is_null());
  json older = Get(history + "?limit=1&rollouts_before=" + page["next"]["rollouts_before"].dump());
  EXPECT_FALSE(older.contains("reports"));
  EXPECT_FALSE(older.contains("versions"));
  ASSERT_EQ(older["rollouts"].size(), 1u);
  EXPECT_EQ(older["rollouts"][0]["rollout_state"], "stopped");
  json versions = Get(history + "?limit=2&versions_before=" + page["versions"][0]["id"].dump());
  ASSERT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(versions["versions"][0]["version"], "1.0.0");

  EXPECT_EQ(server_.Api("GET", history + "?after=1").status, 400);
  EXPECT_EQ(server_.Api("GET", history + "?reports_before=x").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/devices/99999/history").status, 404);
}

TEST_F(DashboardApiTest, AuditExportIsACompleteSafeCsvFile) {
  // Failed logins record the name tried: a spreadsheet formula here must stay text.
  for (const char* name : {"=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "plain"}) {
    auto login = Fetch(server_.Url("/api/v1/login"),
                       {.method = "POST",
                        .headers = {"Content-Type: application/json"},
                        .body = json{{"username", name}, {"password", "wrong password"}}.dump()});
    EXPECT_EQ(login.status, 401);
  }
  // More rows than one page of the store (1000).
  for (int i = 0; i < 1001; ++i) {
    ASSERT_EQ(server_.Api("PATCH", Product(), {{"forbid_downgrades", i % 2 == 0}}).status, 200);
  }
  FetchResult exported = server_.Api("GET", "/api/v1/audit/export");
  ASSERT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(exported.headers["content-type"], "text/csv; charset=utf-8");
  EXPECT_THAT(exported.headers["content-disposition"],
              ::testing::MatchesRegex("attachment; filename=\"audit-[0-9]{8}T[0-9]{6}Z\\.csv\""));
  const auto lines = std::count(exported.body.begin(), exported.body.end(), '\n');
  const json verdict = Get("/api/v1/audit/verify");
  EXPECT_EQ(lines, verdict["rows"].get<std::int64_t>() + 1);  // and the header
  EXPECT_THAT(exported.body, StartsWith("id,at,actor,user_id,"));
  EXPECT_THAT(exported.body, HasSubstr(",\"'=HYPERLINK(\"\"http://x\"\")\","));
  EXPECT_THAT(exported.body, HasSubstr(",\"'+1\","));
  EXPECT_THAT(exported.body, HasSubstr(",\"'-1\","));
  EXPECT_THAT(exported.body, HasSubstr(",\"'@SUM(A1)\","));
  EXPECT_THAT(exported.body, HasSubstr(",\"plain\","));
  // The file it was sent from is gone.
  EXPECT_TRUE(std::filesystem::is_empty(server_.dir / "data/tmp"));

  // The same filters as the list; JSON lines too.
  FetchResult failed = server_.Api("GET", "/api/v1/audit/export?action=login.failed&format=jsonl");
  ASSERT_EQ(failed.status, 200);
  EXPECT_EQ(failed.headers["content-type"], "application/jsonl");
  EXPECT_EQ(std::count(failed.body.begin(), failed.body.end(), '\n'), 5);
  EXPECT_EQ(json::parse(failed.body.substr(0, failed.body.find('\n')))["actor"], "plain");
  EXPECT_EQ(server_.Api("GET", "/api/v1/audit/export?limit=5").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/audit/export?format=json").status, 400);
  // One page as CSV is an attachment too.
  FetchResult page = server_.Api("GET", "/api/v1/audit?format=csv&limit=2");
  EXPECT_EQ(std::count(page.body.begin(), page.body.end(), '\n'), 3);
  EXPECT_THAT(page.headers["content-disposition"], StartsWith("attachment; filename="));
}

TEST_F(DashboardApiTest, JsonGetsRevalidateWithETags) {
  FetchResult first = server_.Api("GET", Product() + "/rollouts");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.headers["cache-control"], "private, no-cache");
  auto again = [&] {
    return Fetch(server_.Url(Product() + "/rollouts"),
                 {.headers = {"Authorization: Bearer " + server_.token, "If-None-Match: " + etag}});
  };
  FetchResult same = again();
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.body, "");
  Introduce("e1");
  Create({{"stages", {100}}});
  FetchResult changed = again();
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.headers["etag"], etag);
  // Refusals and changes carry none.
  auto refused = Fetch(server_.Url(Product() + "/rollouts"), {.headers = {"If-None-Match: *"}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers.count("etag"), 0u);
  EXPECT_EQ(server_.Api("POST", "/api/v1/products", {{"name", "other"}}).headers.count("etag"), 0u);
}

// The progress chart's history: devices that ended, per minute of the server's clock, with
// running totals that end at the rollout's counts even when older minutes are left out.
TEST_F(DashboardApiTest, ProgressListsEndedDevicesPerMinuteWithRunningTotals) {
  using namespace std::chrono_literals;
  constexpr auto kT0 = std::chrono::sys_days(std::chrono::year{2026} / 6 / 1) + 10h;
  server_.SetNow(kT0);
  for (const char* serial : {"p1", "p2", "p3", "p4", "p5"}) Introduce(serial);
  const std::string path = Create({{"stages", {100}}});
  const std::string progress = path + "/progress";
  const json empty = Get(progress);
  EXPECT_EQ(empty["earlier"], json({{"updated", 0}, {"failed", 0}}));
  EXPECT_EQ(empty["points"], json::array());
  EXPECT_EQ("/api/v1/rollouts/" + empty["rollout_id"].dump(), path);

  server_.SetNow(kT0 + 10s);
  Update("p1");
  Fail("p2");
  server_.SetNow(kT0 + 50s);
  Update("p3");
  server_.SetNow(kT0 + 3min + 5s);
  Update("p4");
  // at, updated, failed, updated_total, failed_total
  auto point = [](const char* at, int updated, int failed, int updated_total, int failed_total) {
    return json({{"at", at},
                 {"updated", updated},
                 {"failed", failed},
                 {"updated_total", updated_total},
                 {"failed_total", failed_total}});
  };
  EXPECT_EQ(Get(progress)["points"], json::array({point("2026-06-01T10:00:00Z", 2, 1, 2, 1),
                                                  point("2026-06-01T10:03:00Z", 1, 0, 3, 1)}));
  const json latest = Get(progress + "?limit=1");
  EXPECT_EQ(latest["earlier"], json({{"updated", 2}, {"failed", 1}}));
  EXPECT_EQ(latest["points"], json::array({point("2026-06-01T10:03:00Z", 1, 0, 3, 1)}));
  EXPECT_EQ(Count(Get(path), "updated"), 3);

  // Polled with If-None-Match: unchanged, a 304; another device ends, a 200.
  FetchResult first = server_.Api("GET", progress);
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto again = [&] {
    return Fetch(server_.Url(progress),
                 {.headers = {"Authorization: Bearer " + server_.token, "If-None-Match: " + etag}});
  };
  EXPECT_EQ(again().status, 304);
  server_.SetNow(kT0 + 5min);
  Update("p5");
  FetchResult changed = again();
  ASSERT_EQ(changed.status, 200);
  EXPECT_EQ(json::parse(changed.body)["points"].back(), point("2026-06-01T10:05:00Z", 1, 0, 4, 1));

  // Refused like the other lists; the rollout's own rules for who may read it.
  EXPECT_EQ(server_.Api("GET", progress + "?limit=0").status, 400);
  EXPECT_EQ(server_.Api("GET", progress + "?limit=1001").status, 400);
  auto unknown = server_.Api("GET", progress + "?since=2026-06-01");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("since"));
  EXPECT_EQ(server_.Api("GET", "/api/v1/rollouts/99999/progress").status, 404);
  EXPECT_EQ(Fetch(server_.Url(progress)).status, 401);
  auto audit_only =
      server_.Api("POST", "/api/v1/tokens", {{"name", "audit"}, {"scopes", {"audit:read"}}});
  ASSERT_EQ(audit_only.status, 201) << audit_only.body;
  const std::string audit_token = json::parse(audit_only.body)["token"];
  EXPECT_EQ(
      Fetch(server_.Url(progress), {.headers = {"Authorization: Bearer " + audit_token}}).status,
      403);
}

TEST_F(DashboardApiTest, SelectionsHeldByOtherRolloutsAreRefusedAndListsAgreeWithShow) {
  const std::int64_t a = Introduce("r1");
  const std::int64_t b = Introduce("r2");
  const std::string first = Create({{"devices", {a, Introduce("r3")}}, {"rate_per_hour", 5}});
  const std::string second =
      Create({{"devices", {b}}, {"stages", {{{"percent", 100}, {"manual", true}}}}});
  ASSERT_EQ(server_.Api("POST", second + "/pause").status, 200);

  auto preview = server_.Api("POST", Product() + "/rollouts/preview",
                             {{"package", kUid}, {"devices", {a, b}}});
  ASSERT_EQ(preview.status, 200);
  EXPECT_EQ(json::parse(preview.body)["matching_devices"], 0);
  EXPECT_EQ(json::parse(preview.body)["excluded"]["in_other_rollouts"], 2);
  auto held =
      server_.Api("POST", Product() + "/rollouts", {{"package", kUid}, {"devices", {a, b}}});
  EXPECT_EQ(held.status, 400);
  EXPECT_THAT(held.body, HasSubstr("2 selected are in other active rollouts"));

  // The list reads statistics and hold reasons for all rollouts at once; they are the same
  // as each rollout shows.
  Fail("r1");
  const json listed = Get(Product() + "/rollouts");
  ASSERT_EQ(listed["rollouts"].size(), 2u);
  for (const json& rollout : listed["rollouts"]) {
    const json shown = Get("/api/v1/rollouts/" + rollout["id"].dump());
    EXPECT_EQ(rollout["statistics"], shown["statistics"]);
    EXPECT_EQ(rollout["hold_reason"], shown["hold_reason"]);
  }
  EXPECT_EQ(Count(listed["rollouts"][0], "failed"), 1);
}

// The preview is counted by the database, the creation by the rollout engine reading every
// device: they must agree.
TEST_F(DashboardApiTest, PreviewCountsWhatACreationTakes) {
  for (int i = 0; i < 6; ++i) {
    const std::string serial = "q" + std::to_string(i);
    json device = ServerFixture::DeviceBody(serial, i % 2 == 0 ? "0.9" : "0.8",
                                            i < 4 ? "board-a" : "board-b");
    EXPECT_EQ(server_.Probe(device).status, 404);
  }
  const std::vector<json> filters = {
      json::object(),
      {{"hardware", {"board-a"}}},
      {{"versions", {"0.9"}}, {"hardware", {"board-a", "board-b"}}},
      {{"identity", {{"mac", "aa:q3"}}}},
      {{"identity", {{"serial", "q2"}}}, {"attributes", {{"region", "eu"}}}},
  };
  for (const json& filter : filters) {
    SCOPED_TRACE(filter.dump());
    json body = {{"package", kUid}, {"filter", filter}};
    auto preview = server_.Api("POST", Product() + "/rollouts/preview", body);
    ASSERT_EQ(preview.status, 200) << preview.body;
    auto created = server_.Api("POST", Product() + "/rollouts", body);
    ASSERT_EQ(created.status, 201) << created.body;
    const json rollout = json::parse(created.body);
    EXPECT_EQ(json::parse(preview.body)["matching_devices"], rollout["statistics"]["total"]);
    ASSERT_EQ(server_.Api("POST", "/api/v1/rollouts/" + rollout["id"].dump() + "/stop").status,
              200);
  }
}

}  // namespace
}  // namespace uh::server::testing
