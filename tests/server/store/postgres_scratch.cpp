#include "postgres_scratch.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>

#include "server/store/postgres/connection.hpp"

namespace uh::server::testing {

std::string PostgresHost() {
  const char* dir = std::getenv("UH_TEST_POSTGRES_DIR");
  if (dir == nullptr) dir = std::getenv("UH_TEST_SERVER_POSTGRES_DIR");
  if (dir == nullptr) {
    ADD_FAILURE() << "UH_TEST_POSTGRES_DIR is not set: run the tests with ctest, which starts "
                     "PostgreSQL, or start one with tests/support/postgres_cluster.sh start DIR "
                     "and set UH_TEST_POSTGRES_DIR=DIR";
    return "/nonexistent";
  }
  std::ifstream in(std::string(dir) + "/host");
  std::string host;
  std::getline(in, host);
  if (host.empty()) {
    ADD_FAILURE() << "no PostgreSQL server for the tests: " << dir << "/host is missing";
    return "/nonexistent";
  }
  return host;
}

std::string PostgresUrl(const std::string& database) {
  return "postgresql:///" + database + "?host=" + PostgresHost() + "&user=uh";
}

ScratchDatabase::ScratchDatabase() {
  static std::atomic<int> counter{0};
  // Unique across the test processes sharing the server, also after a pid is reused.
  std::random_device random;
  name_ = "uh_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
          std::to_string(random() % 1000000);
  auto db = pg::Connection::Open(PostgresUrl("postgres"));
  if (!db) {
    ADD_FAILURE() << db.error().message();
    return;
  }
  auto created = (*db)->Exec("CREATE DATABASE " + name_);
  if (!created) ADD_FAILURE() << created.error().message();
}

ScratchDatabase::~ScratchDatabase() {
  auto db = pg::Connection::Open(PostgresUrl("postgres"));
  if (db) (void)(*db)->Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

}  // namespace uh::server::testing
