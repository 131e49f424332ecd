// The probe path (issue: a probe close to nginx): a probe that changes nothing reads the store
// once (Store::LookupProbe) and writes nothing, the rest coming from the catalog kept in
// memory; a change made through the API is seen by the very next probe.

#include <gtest/gtest.h>

#include <numeric>

#include "server/store/store_metrics.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using nlohmann::json;

const std::string kVersion = "1.0.0";

// Transactions of a kind so far: the observations of its latency histogram.
std::uint64_t Transactions(const LatencyHistogram& histogram) {
  const auto counts = histogram.Read();
  return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

class ProbePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No timed work while counting (it reads rollouts and writes last-seen times).
    server_.SetTick(std::chrono::hours(1));
    server_.Stop();
    server_.Start();
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  StoreMetrics& Metrics() {
    return server_.config().DatabaseUrl().starts_with("postgres") ? PostgresStoreMetrics()
                                                                  : SqliteStoreMetrics();
  }

  struct Cost {
    std::uint64_t reads = 0;
    std::uint64_t writes = 0;
    std::uint64_t catalog_misses = 0;
  };
  // What `probes` probes of `device`, each answered `status`, cost the store and the catalog.
  Cost ProbeCost(const json& device, int probes, int status) {
    StoreMetrics& metrics = Metrics();
    const std::uint64_t reads = Transactions(metrics.read);
    const std::uint64_t writes = Transactions(metrics.write);
    const std::uint64_t misses = server_.app().catalog().counts().misses;
    for (int i = 0; i < probes; ++i) {
      auto answer = server_.Probe(device);
      EXPECT_EQ(answer.status, status) << answer.body;
    }
    return {Transactions(metrics.read) - reads, Transactions(metrics.write) - writes,
            server_.app().catalog().counts().misses - misses};
  }

  json CreateRollout(json definition) {
    definition["package"] = kUid;
    auto created = server_.Api(
        "POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts", definition);
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body);
  }

  ServerFixture server_;
};

TEST_F(ProbePathTest, AProbeThatChangesNothingReadsTheStoreOnceAndWritesNothing) {
  const json device = ServerFixture::DeviceBody("dev0", "0.9");
  // First seen: recorded (a write). Then known, in no rollout: one read a probe.
  EXPECT_EQ(server_.Probe(device).status, 404);
  Cost idle = ProbeCost(device, 10, 404);
  EXPECT_EQ(idle.reads, 10U);
  EXPECT_EQ(idle.writes, 0U);

  // In a running rollout, offered the package: the first offer takes the rate's slot (a
  // write); offered again (the device retries its download), a read each and no write.
  CreateRollout({{"stages", {100}}});
  EXPECT_EQ(server_.Probe(device).status, 200);
  Cost offered = ProbeCost(device, 10, 200);
  EXPECT_EQ(offered.reads, 10U);
  EXPECT_EQ(offered.writes, 0U);
  EXPECT_EQ(offered.catalog_misses, 0U);

  // Updated: the device runs the new version, recorded once (its version, its state in the
  // rollout, which finishes). The next probe reads again what the finish changed (the product
  // and its rollouts: 3 reads); from then on, a read a probe.
  for (const char* status : {"downloading", "downloaded", "installing", "installed", "rebooting"}) {
    ASSERT_EQ(server_.Report(device, status, kUid).status, 200);
  }
  json updated = device;
  updated["version"] = kVersion;
  EXPECT_EQ(server_.Probe(updated).status, 404);
  Cost after_change = ProbeCost(updated, 1, 404);
  EXPECT_EQ(after_change.reads, 3U);
  EXPECT_EQ(after_change.writes, 0U);
  EXPECT_EQ(after_change.catalog_misses, 2U);
  Cost done = ProbeCost(updated, 10, 404);
  EXPECT_EQ(done.reads, 10U);
  EXPECT_EQ(done.writes, 0U);
  EXPECT_EQ(done.catalog_misses, 0U);
}

TEST_F(ProbePathTest, RolloutChangesAreSeenByTheNextProbe) {
  const json first = ServerFixture::DeviceBody("dev0", "0.9");
  const json second = ServerFixture::DeviceBody("dev1", "0.9");
  EXPECT_EQ(server_.Probe(first).status, 404);
  EXPECT_EQ(server_.Probe(second).status, 404);
  const json rollout = CreateRollout({{"stages", {100}}});
  const std::string path = "/api/v1/rollouts/" + std::to_string(rollout["id"].get<int>());
  EXPECT_EQ(server_.Probe(first).status, 200);

  ASSERT_EQ(server_.Api("POST", path + "/pause").status, 200);
  EXPECT_EQ(server_.Probe(first).status, 404);
  EXPECT_EQ(server_.Probe(second).status, 404);
  ASSERT_EQ(server_.Api("POST", path + "/resume").status, 200);
  EXPECT_EQ(server_.Probe(first).status, 200);
  EXPECT_EQ(server_.Probe(second).status, 200);

  ASSERT_EQ(server_.Api("POST", path + "/stop").status, 200);
  EXPECT_EQ(server_.Probe(first).status, 404);
  // A new rollout of the same package takes them again at once.
  CreateRollout({{"stages", {100}}});
  EXPECT_EQ(server_.Probe(second).status, 200);
}

}  // namespace
}  // namespace uh::server::testing
