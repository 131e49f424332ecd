// updatehub-server's TOML settings: known keys over the defaults, errors naming file, line, key.
// And database_pool_size at work: the PostgreSQL pool, and a server, never open more connections
// than it says (DatabasePoolSizeTest, in the server_test_postgres run).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/http_test_client.hpp"
#include "postgres_scratch.hpp"
#include "server/config.hpp"
#include "server/server_app.hpp"
#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/pool.hpp"
#include "support/test_support.hpp"

namespace uh::server {
namespace {

using ::testing::HasSubstr;

class ServerConfigTest : public ::testing::Test {
 protected:
  Expected<ServerConfig> Load(const std::string& text) {
    const auto path = dir_.path() / "server.toml";
    uh::testing::WriteFile(path, text);
    return LoadServerConfig(path);
  }
  uh::testing::TempDir dir_;
};

TEST_F(ServerConfigTest, KeysOverTheDefaults) {
  auto config = Load(
      "listen = \"0.0.0.0:9000\"\nthreads = 4\nwaiting_poll_seconds = 30\n"
      "max_package_bytes = 1024\n[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->listen, "0.0.0.0:9000");
  EXPECT_EQ(config->threads, 4u);
  EXPECT_EQ(config->waiting_poll_seconds, 30u);
  EXPECT_EQ(config->max_package_bytes, 1024u);
  EXPECT_EQ(config->tls_certificate, "c.pem");
  EXPECT_EQ(config->data_dir, "./var");  // a default
  EXPECT_EQ(ServerConfig{}.waiting_poll_seconds, 0u);
}

TEST_F(ServerConfigTest, LimitsQuotasAndLogging) {
  const ServerConfig defaults;
  EXPECT_EQ(defaults.max_connections_per_address, 256u);
  EXPECT_EQ(defaults.requests_per_second_per_address, 200u);
  EXPECT_EQ(defaults.request_burst_per_address, 400u);
  EXPECT_EQ(defaults.reports_per_device_per_minute, 60u);
  EXPECT_EQ(defaults.new_devices_per_product_per_minute, 1000u);
  EXPECT_EQ(defaults.log_format, "text");
  EXPECT_TRUE(defaults.access_log);
  auto config = Load(
      "max_connections_per_address = 5000\nrequests_per_second_per_address = 0\n"
      "request_burst_per_address = 10\nreports_per_device_per_minute = 6\n"
      "new_devices_per_product_per_minute = 20000\nlog_format = \"json\"\naccess_log = false\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->max_connections_per_address, 5000u);
  EXPECT_EQ(config->requests_per_second_per_address, 0u);
  EXPECT_EQ(config->request_burst_per_address, 10u);
  EXPECT_EQ(config->reports_per_device_per_minute, 6u);
  EXPECT_EQ(config->new_devices_per_product_per_minute, 20000u);
  EXPECT_EQ(config->log_format, "json");
  EXPECT_FALSE(config->access_log);
  auto bad_format = Load("log_format = \"xml\"\n");
  ASSERT_FALSE(bad_format);
  EXPECT_THAT(bad_format.error().message(), HasSubstr("\"text\" or \"json\""));
  EXPECT_FALSE(Load("access_log = 1\n"));
  EXPECT_FALSE(Load("request_burst_per_address = 0\n"));
}

TEST_F(ServerConfigTest, TlsCipherLists) {
  auto config = Load(
      "[tls]\ncertificate = \"c.pem\"\nciphers = \"ECDHE-RSA-AES256-GCM-SHA384\"\n"
      "ciphersuites = \"TLS_AES_256_GCM_SHA384\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->tls_ciphers, "ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(config->tls_ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(ServerConfig{}.tls_ciphers, "");  // empty: the server's forward-secret AEAD list

  auto wrong = Load("[tls]\nciphers = [\"AES128-SHA\"]\n");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message(), HasSubstr(":2: 'tls.ciphers' must be a string"));
}

TEST_F(ServerConfigTest, BadValuesNameTheLineAndKey) {
  for (const auto& [text, line_key, why] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"threads = 2\nwaiting_poll_seconds = -1\n", ":2: 'waiting_poll_seconds'", "0 to 86400"},
           {"waiting_poll_seconds = \"10\"\n", ":1: 'waiting_poll_seconds'", "integer"},
           {"waiting_poll_seconds = 86401\n", ":1: 'waiting_poll_seconds'", "0 to 86400"},
           {"threads = 1000\n", ":1: 'threads'", "0 to 256"},
           {"listen = 8080\n", ":1: 'listen'", "string"},
           {"\n\nlisten_port = 1\n", ":3: 'listen_port'", "not a known key"},
       }) {
    auto config = Load(text);
    ASSERT_FALSE(config) << text;
    EXPECT_THAT(config.error().message(), HasSubstr("server.toml" + line_key)) << text;
    EXPECT_THAT(config.error().message(), HasSubstr(why)) << text;
  }
  auto broken = Load("listen = \n");
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message(), HasSubstr("server.toml"));
}

TEST_F(ServerConfigTest, DatabasePoolSize) {
  EXPECT_EQ(ServerConfig{}.database_pool_size, 16u);
  for (const unsigned size : {1u, 2u, 1000u}) {
    auto config = Load("database_pool_size = " + std::to_string(size) + "\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->database_pool_size, size);
  }
  for (const std::string bad : {"0", "1001", "-1", "\"8\"", "2.5"}) {
    auto config = Load("listen = \"127.0.0.1:1\"\ndatabase_pool_size = " + bad + "\n");
    ASSERT_FALSE(config) << bad;
    EXPECT_THAT(config.error().message(),
                HasSubstr("server.toml:2: 'database_pool_size' must be an integer from 1 to 1000"))
        << bad;
  }
}

TEST_F(ServerConfigTest, StoreBackendOfTheDatabaseUrl) {
  ServerConfig config;
  EXPECT_EQ(config.StoreBackend(), "sqlite");
  config.database = "sqlite:/tmp/x.db";
  EXPECT_EQ(config.StoreBackend(), "sqlite");
  config.database = "postgresql://uh@/uh";
  EXPECT_EQ(config.StoreBackend(), "postgresql");
  config.database = "postgres://uh@/uh";
  EXPECT_EQ(config.StoreBackend(), "postgresql");
}

}  // namespace
}  // namespace uh::server

namespace uh::server::testing {
namespace {

bool HavePostgresForPoolTests() {
  return std::getenv("UH_TEST_SERVER_POSTGRES_DIR") != nullptr ||
         std::getenv("UH_TEST_POSTGRES_DIR") != nullptr;
}

// The sessions of the connection's database but its own, as PostgreSQL counts them.
std::int64_t OtherSessions(pg::Connection& observer) {
  auto query = observer.Prepare(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
      "backend_type = 'client backend' AND pid <> pg_backend_pid()");
  if (!query) {
    ADD_FAILURE() << query.error().message();
    return -1;
  }
  auto row = query->Step();
  if (!row || !*row) {
    ADD_FAILURE() << (row ? "no row" : row.error().message());
    return -1;
  }
  return query->Int(0);
}

TEST(DatabasePoolSizeTest, PoolWaitsForAFreeConnectionInsteadOfOpeningMore) {
  if (!HavePostgresForPoolTests()) GTEST_SKIP() << "needs the test run's PostgreSQL server";
  ScratchDatabase database;
  pg::ConnectionPool pool(database.url(), nullptr, 2);
  EXPECT_EQ(pool.max_connections(), 2u);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::mutex mutex;
  std::set<std::string> backends;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto done = pool.Read("pool size test", [&](pg::Connection& db) -> Expected<int> {
          const int now = ++inside;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          auto pid = db.Prepare("SELECT pg_backend_pid()");
          if (!pid) return std::unexpected(std::move(pid.error()));
          auto row = pid->Step();
          if (!row) return std::unexpected(std::move(row.error()));
          {
            const std::lock_guard lock(mutex);
            backends.insert(pid->Text(0));
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          --inside;
          return 0;
        });
        EXPECT_TRUE(done) << done.error().message();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(most.load(), 2);  // 8 threads: both connections busy at once, never a third
  EXPECT_LE(backends.size(), 2u);
  EXPECT_LE(pool.open_connections(), 2u);
  auto observer = pg::Connection::Open(database.url());
  ASSERT_TRUE(observer) << observer.error().message();
  EXPECT_EQ(OtherSessions(**observer), static_cast<std::int64_t>(pool.open_connections()));
}

TEST(DatabasePoolSizeTest, ServerOpensNoMoreConnectionsThanDatabasePoolSize) {
  if (!HavePostgresForPoolTests()) GTEST_SKIP() << "needs the test run's PostgreSQL server";
  ScratchDatabase database;
  uh::testing::TempDir dir;
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() / "data";
  config.database = database.url();
  config.database_pool_size = 2;
  config.threads = 8;  // more requests at once than connections
  config.access_log = false;
  config.requests_per_second_per_address = 0;
  auto app = ServerApp::Start(config, "correct horse battery", std::chrono::milliseconds(20));
  ASSERT_TRUE(app) << app.error().message();
  const std::string url = "http://127.0.0.1:" + std::to_string((*app)->port()) + "/metrics";

  auto observer = pg::Connection::Open(database.url());
  ASSERT_TRUE(observer) << observer.error().message();
  std::atomic<bool> stop{false};
  std::int64_t most = 0;
  std::thread watcher([&] {
    while (!stop) {
      most = std::max(most, OtherSessions(**observer));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<std::thread> clients;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (http::testing::Fetch(url).status != 200) ++failed;  // a few store reads each
      }
    });
  }
  for (auto& client : clients) client.join();
  stop = true;
  watcher.join();
  (*app)->Stop();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(most, 1);
  EXPECT_LE(most, 2);
}

}  // namespace
}  // namespace uh::server::testing
