#pragma once

// updatehub-server's settings: a TOML file, then command-line flags on top.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::filesystem::path data_dir = "./var";
  std::string database;  // empty: sqlite:DATA_DIR/updatehub.db
  // PostgreSQL: the most connections the server opens to the database at once (requests
  // beyond that wait for one). SQLite: unused.
  unsigned database_pool_size = 16;
  static constexpr unsigned kMaxDatabasePoolSize = 1000;
  // Where package objects are kept; empty: DATA_DIR/objects. Servers sharing one database
  // share this directory too (a network file system every one of them mounts).
  std::filesystem::path objects_dir;
  // The built web dashboard, read once at start; empty or missing: no dashboard (the API still
  // works). updatehub-server defaults it to "dashboard" beside its executable.
  std::filesystem::path dashboard_dir;
  std::string log_level = "info";
  unsigned threads = 0;  // 0: one per core
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  // OpenSSL cipher strings; empty: the defaults. Only forward-secret AEAD suites are accepted.
  std::string tls_ciphers;                       // TLS 1.2
  std::string tls_ciphersuites;                  // TLS 1.3
  std::uint64_t max_package_bytes = 8ull << 30;  // largest package upload
  // Devices a running rollout has selected but not offered the package yet (waiting for their
  // stage, the rate limit or the maintenance window) are told to probe again after this many
  // seconds (200 with Add-Extra-Poll) instead of getting 404; 0: 404, as upstream's server.
  unsigned waiting_poll_seconds = 0;
  // How often devices probe when nothing is waiting (upstream's agent: once a day). The
  // overview counts a device not seen for kOverduePolls of these as overdue.
  unsigned device_poll_seconds = 86400;
  static constexpr unsigned kOverduePolls = 3;

  // Limits per client address (0: none). Devices behind one NAT share an address: a fleet of
  // N devices behind one needs about N / poll interval requests per second and, with
  // keep-alive, up to N connections; raise these for it.
  unsigned max_connections_per_address = 256;
  unsigned requests_per_second_per_address = 200;
  unsigned request_burst_per_address = 400;
  // Device quotas (0: none): reports per device, and devices first seen per product.
  unsigned reports_per_device_per_minute = 60;
  unsigned new_devices_per_product_per_minute = 1000;

  std::string log_format = "text";  // "text" or "json" (one JSON object per line)
  bool access_log = true;           // a line per request, at info level

  // The release, as `updatehub-server --version` says it (/metrics' updatehub_build_info). Not
  // a key of the file: updatehub-server sets it; empty: "unknown".
  std::string build_version;

  [[nodiscard]] std::string DatabaseUrl() const;
  // "postgresql" or "sqlite": the backend DatabaseUrl() names.
  [[nodiscard]] std::string_view StoreBackend() const;
  [[nodiscard]] std::filesystem::path ObjectsDir() const;
  // Splits `listen` into address and port ("[::1]:80", "0.0.0.0:8080", ":8080").
  [[nodiscard]] Expected<std::pair<std::string, std::uint16_t>> ListenAddress() const;
};

// Reads a TOML file over the defaults. Errors name the file, the line and the key.
[[nodiscard]] Expected<ServerConfig> LoadServerConfig(const std::filesystem::path& path);

}  // namespace uh::server
