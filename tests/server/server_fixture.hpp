#pragma once

// A real updatehub-server (ServerApp) on 127.0.0.1, port 0, with its own data directory, and a
// small client for its management API and device protocol. Its store is SQLite in the data
// directory; with UH_TEST_SERVER_POSTGRES_DIR set (the server_test_postgres tests, see
// tests/server/CMakeLists.txt), a database of its own in the test run's PostgreSQL server.

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "http/http_test_client.hpp"
#include "postgres_scratch.hpp"
#include "server/server_app.hpp"
#include "support/test_support.hpp"

namespace uh::server::testing {

using http::testing::FetchResult;

inline constexpr const char* kAdminPassword = "correct horse battery";
// The product of the test packages (and of upstream's conformance packages).
inline constexpr const char* kConformanceProduct =
    "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";

// The test package signed.uhupkg: its UID, and the sha256 of its rootfs object.
inline const std::string kUid = uh::testing::TestPackageUid("signed.uhupkg");
inline const std::string kRootfs = uh::testing::TestObjectSha256("signed.uhupkg", "rootfs.img");

class ServerFixture {
 public:
  explicit ServerFixture(std::uint64_t max_package_bytes = 64ull << 20);
  ~ServerFixture();

  void Start();
  void Stop();
  // The settings of the next Start(); the fixture's port and data directory stay.
  [[nodiscard]] ServerConfig& config() { return config_; }
  [[nodiscard]] ServerApp& app() { return *app_; }
  [[nodiscard]] std::string Url(const std::string& path) const;

  // Management API as the logged-in admin.
  [[nodiscard]] FetchResult Api(const std::string& method, const std::string& path,
                                const nlohmann::json& body = nullptr);
  [[nodiscard]] FetchResult Upload(const std::filesystem::path& package);
  // Creates the test packages' product and registers their key.
  void SetUpConformanceProduct();

  // Device protocol, built like upstream's agent does.
  [[nodiscard]] static nlohmann::json DeviceBody(const std::string& serial,
                                                 const std::string& version,
                                                 const std::string& hardware = "board-a",
                                                 const std::string& product = kConformanceProduct);
  [[nodiscard]] FetchResult Probe(const nlohmann::json& device);
  [[nodiscard]] FetchResult Report(nlohmann::json device, const std::string& status,
                                   const std::string& package_uid, const std::string& error = "");

  // The server's clock for rollouts: real time until SetNow is called, then frozen there.
  void SetNow(std::chrono::system_clock::time_point now);
  // How often the next Start()'s server does its timed work (50 ms unless set).
  void SetTick(std::chrono::milliseconds tick) { tick_ = tick; }

  uh::testing::TempDir dir;
  std::string token;
  // The CA the fixture's own requests trust when config() has a TLS certificate (then Url()
  // is https).
  std::filesystem::path tls_ca;

 private:
  std::unique_ptr<ScratchDatabase> database_;  // declared before app_: dropped after it
  ServerConfig config_;
  std::unique_ptr<ServerApp> app_;
  // Seconds since the epoch of the frozen clock; 0 while the clock is real.
  std::atomic<std::int64_t> frozen_now_{0};
  std::chrono::milliseconds tick_{50};
};

}  // namespace uh::server::testing
