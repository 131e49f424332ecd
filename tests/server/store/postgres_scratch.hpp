#pragma once

// Databases of the test run's PostgreSQL server (tests/support/postgres_cluster.sh, started by
// CTest as the fixture "postgres"), one per test.

#include <string>

namespace uh::server::testing {

// The socket directory of the test run's server, read from $UH_TEST_POSTGRES_DIR/host (or
// $UH_TEST_SERVER_POSTGRES_DIR/host); a test failure when there is none.
[[nodiscard]] std::string PostgresHost();
// The URL of a database of that server.
[[nodiscard]] std::string PostgresUrl(const std::string& database);

// A new empty database, dropped (with its connections) when this goes away.
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  [[nodiscard]] std::string url() const { return PostgresUrl(name_); }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace uh::server::testing
