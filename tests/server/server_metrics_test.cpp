// /metrics after real requests over HTTP: requests named by their route pattern (never by a raw
// path), histograms that add up, probe outcomes, reports, the store's latencies, the fleet
// gauges, the process metrics and the build info; and every line in the Prometheus text format.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// name{labels} -> value, for every sample of a /metrics page.
std::map<std::string, double> Samples(const std::string& page) {
  std::map<std::string, double> out;
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.starts_with('#')) continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The family a sample belongs to: its name without a histogram's suffix.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - std::string_view(suffix).size());
      if (types.contains(base) && types.at(base) == "histogram") return base;
    }
  }
  return name;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  // The server counts a request once its answer is written, which the client may see first,
  // and answers written by different threads may be counted in any order: wait for every line.
  std::string MetricsShowing(const std::vector<std::string>& lines) {
    std::string page;
    for (int i = 0; i < 200; ++i) {
      page = Fetch(server_.Url("/metrics")).body;
      if (std::ranges::all_of(lines, [&](const std::string& line) {
            return page.find(line) != std::string::npos;
          })) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return page;
  }

  ServerFixture server_;
};

TEST_F(MetricsTest, CountsRequestsByRoutePatternAndProbesByOutcome) {
  const json device = ServerFixture::DeviceBody("dev0", "0.9");
  EXPECT_EQ(server_.Probe(device).status, 404);  // no rollout yet: nothing
  auto created =
      server_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                  {{"package", kUid}, {"stages", {100}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = std::to_string(json::parse(created.body)["id"].get<int>());
  EXPECT_EQ(server_.Probe(device).status, 200);  // offered
  EXPECT_EQ(server_.Report(device, "downloading", kUid).status, 200);
  EXPECT_EQ(Fetch(server_.Url("/upgrades"), {.method = "POST", .body = "not json"}).status, 400);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(server_.Api("GET", "/api/v1/rollouts/" + id).status, 200);
  EXPECT_EQ(Fetch(server_.Url("/no/such/path/12345")).status, 404);

  const std::string page = MetricsShowing({
      "updatehub_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n",
      "updatehub_http_requests_total{route=\"/api/v1/rollouts/"
      "{id}\",method=\"GET\",status=\"200\"} "
      "2\n",
      "updatehub_http_requests_total{route=\"/upgrades\",method=\"POST\",status=\"400\"} 1\n",
      "updatehub_http_requests_total{route=\"/report\",method=\"POST\",status=\"200\"} 1\n",
  });
  const auto samples = Samples(page);
  auto at = [&](const std::string& key) {
    EXPECT_TRUE(samples.contains(key)) << key << " missing from\n" << page;
    return samples.contains(key) ? samples.at(key) : -1;
  };
  EXPECT_EQ(at(R"(updatehub_probes_total{outcome="offered"})"), 1);
  EXPECT_EQ(at(R"(updatehub_probes_total{outcome="nothing"})"), 1);
  EXPECT_EQ(at(R"(updatehub_probes_total{outcome="refused"})"), 1);
  EXPECT_EQ(at(R"(updatehub_probes_total{outcome="waiting"})"), 0);
  EXPECT_EQ(at(R"(updatehub_reports_total{status="downloading"})"), 1);
  EXPECT_EQ(at(R"(updatehub_reports_total{status="other"})"), 0);
  EXPECT_EQ(
      at(R"(updatehub_http_requests_total{route="/api/v1/rollouts/{id}",method="GET",status="200"})"),
      2);
  EXPECT_EQ(at(R"(updatehub_http_requests_total{route="/upgrades",method="POST",status="200"})"),
            1);
  EXPECT_EQ(at(R"(updatehub_http_requests_total{route="/upgrades",method="POST",status="404"})"),
            1);
  EXPECT_EQ(at(R"(updatehub_http_requests_total{route="/upgrades",method="POST",status="400"})"),
            1);
  EXPECT_EQ(at(R"(updatehub_http_requests_total{route="/report",method="POST",status="200"})"), 1);
  // Paths never become labels: only patterns, and "unmatched".
  EXPECT_THAT(page, Not(HasSubstr("/api/v1/rollouts/" + id + "\"")));
  EXPECT_THAT(page, Not(HasSubstr("/no/such")));

  // Each histogram is cumulative, ends with +Inf at _count, and counts what the counter counts.
  std::map<std::string, double> requests_per_series;  // route and method labels -> requests
  for (const auto& [key, value] : samples) {
    if (!key.starts_with("updatehub_http_requests_total{")) continue;
    const std::string labels = key.substr(key.find('{') + 1);
    requests_per_series[labels.substr(0, labels.find(",status="))] += value;
  }
  ASSERT_FALSE(requests_per_series.empty());
  for (const auto& [labels, requests] : requests_per_series) {
    const std::string name = "updatehub_http_request_duration_seconds";
    double previous = 0;
    for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                           "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"}) {
      const double bucket = at(name + "_bucket{" + labels + ",le=\"" + le + "\"}");
      EXPECT_GE(bucket, previous) << labels << " le=" << le;
      previous = bucket;
    }
    EXPECT_EQ(previous, at(name + "_count{" + labels + "}")) << labels;
    EXPECT_EQ(requests, at(name + "_count{" + labels + "}")) << labels;
    EXPECT_GE(at(name + "_sum{" + labels + "}"), 0) << labels;
  }

  // The store's pools timed the transactions behind these requests.
  EXPECT_GT(
      at(R"(updatehub_store_transaction_duration_seconds_count{backend="sqlite",kind="read"})"), 0);
  EXPECT_GT(
      at(R"(updatehub_store_transaction_duration_seconds_count{backend="sqlite",kind="write"})"),
      0);
  EXPECT_GE(at(R"(updatehub_store_retries_total{backend="postgresql"})"), 0);

  // The fleet, counted by the database.
  const std::string product = std::string("product=\"") + kConformanceProduct + "\"";
  EXPECT_EQ(at("updatehub_rollouts{" + product + ",state=\"running\"}"), 1);
  EXPECT_EQ(at("updatehub_rollouts{" + product + ",state=\"paused\"}"), 0);
  EXPECT_EQ(at("updatehub_devices{" + product + "}"), 1);
  EXPECT_EQ(at("updatehub_devices_by_rollout_state{" + product + ",state=\"downloading\"}"), 1);

  // The process, from /proc.
  EXPECT_GT(at("process_resident_memory_bytes"), 0);
  EXPECT_GE(at("process_cpu_seconds_total"), 0);
  EXPECT_GT(at("process_open_fds"), 0);
  EXPECT_GT(at("process_max_fds"), 0);
  EXPECT_GT(at("process_start_time_seconds"), 1.6e9);
}

TEST_F(MetricsTest, EveryLineIsACommentOrASample) {
  (void)server_.Probe(ServerFixture::DeviceBody("dev0", "0.9"));
  EXPECT_EQ(Fetch(server_.Url("/nothing/here")).status, 404);
  const std::string page = MetricsShowing({"route=\"unmatched\""});

  const std::string label = R"([a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*")";
  const std::regex sample("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{" + label + "(?:," + label +
                          ")*\\})? (?:[-+]?[0-9]+(?:\\.[0-9]*)?(?:e[-+]?[0-9]+)?|NaN|[-+]Inf)");
  const std::regex help("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+");
  const std::regex type("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)");
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::istringstream lines(page);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    std::smatch match;
    if (std::regex_match(line, match, help)) {
      EXPECT_TRUE(helped.insert(match[1]).second) << "HELP twice: " << line;
    } else if (std::regex_match(line, match, type)) {
      EXPECT_TRUE(helped.contains(match[1])) << "TYPE without HELP: " << line;
      EXPECT_TRUE(types.emplace(match[1], match[2]).second) << "TYPE twice: " << line;
    } else {
      ASSERT_TRUE(std::regex_match(line, match, sample)) << "not a sample: [" << line << "]";
      EXPECT_TRUE(types.contains(FamilyOf(match[1], types))) << "no TYPE before: " << line;
    }
  }
  EXPECT_GT(count, 100);
  EXPECT_TRUE(page.ends_with('\n'));
}

TEST_F(MetricsTest, BuildInfoNamesTheReleaseAndTheStore) {
  const std::string store(server_.config().StoreBackend());
  // The fixture sets no release, as any ServerApp that updatehub-server did not start.
  EXPECT_THAT(
      Fetch(server_.Url("/metrics")).body,
      HasSubstr("# TYPE updatehub_build_info gauge\nupdatehub_build_info{version=\"unknown\","
                "store=\"" +
                store + "\"} 1\n"));
  server_.Stop();
  server_.config().build_version = "9.8.7-test \"quoted\"";  // updatehub-server: UH_VERSION
  server_.Start();
  EXPECT_THAT(Fetch(server_.Url("/metrics")).body,
              HasSubstr("updatehub_build_info{version=\"9.8.7-test \\\"quoted\\\"\",store=\"" +
                        store + "\"} 1\n"));
}

TEST(MetricsText, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain/{id}"), "plain/{id}");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsText, HistogramBucketsHoldTheirUpperBound) {
  LatencyHistogram histogram;
  histogram.Observe(std::chrono::microseconds(500));  // le="0.0005"
  histogram.Observe(std::chrono::microseconds(501));  // le="0.001"
  histogram.Observe(std::chrono::minutes(1));         // +Inf
  const auto counts = histogram.Read();
  EXPECT_EQ(counts[0], 1u);
  EXPECT_EQ(counts[1], 1u);
  EXPECT_EQ(counts.back(), 1u);
  EXPECT_NEAR(histogram.SumSeconds(), 60.001001, 1e-9);
}

TEST(MetricsText, StatusesPastTheTableCountAsOther) {
  http::Router router;
  router.Add(http::Method::kGet, "/things/{id}", [](http::Request&) { return http::Response(); });
  HttpMetrics metrics;
  metrics.RegisterRoutes(router);
  http::Request request;
  request.route = &router.routes().front();
  for (int status = 200; status < 220; ++status) metrics.Record(request, status, {});
  request.route = nullptr;
  metrics.Record(request, 404, {});
  const auto statuses = metrics.Series(0, http::Method::kGet).Statuses();
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.front().status, 200);
  EXPECT_EQ(statuses.back().status, 0);  // "other"
  EXPECT_EQ(statuses.back().count, 20u - (statuses.size() - 1));
  EXPECT_EQ(metrics.routes().back(), HttpMetrics::kUnmatched);
  EXPECT_EQ(metrics.Series(1, http::Method::kGet).Statuses().front().count, 1u);
}

}  // namespace
}  // namespace uh::server::testing
