#pragma once

// What the HTTP handlers of the server share: the store, the object store, the services and
// the counters behind /metrics.

#include <atomic>
#include <cstdint>

#include "server/audit.hpp"
#include "server/auth.hpp"
#include "server/config.hpp"
#include "server/device_quota.hpp"
#include "server/last_seen.hpp"
#include "server/object_store.hpp"
#include "server/package_service.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct Metrics {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> probes{0};
  std::atomic<std::uint64_t> probes_offered{0};
  std::atomic<std::uint64_t> reports{0};
  std::atomic<std::uint64_t> download_bytes{0};
  std::atomic<std::uint64_t> packages_uploaded{0};
  std::atomic<std::uint64_t> errors_5xx{0};
  // Refused by the per-address limits of the HTTP server.
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> refused_requests{0};
};

struct ApiContext {
  const ServerConfig& config;
  Store& store;
  ObjectStore& objects;
  PackageService& packages;
  Auth& auth;
  Metrics& metrics;
  LastSeenBatch& last_seen;
  AuditLog& audit;
  DeviceQuota& quota;
};

}  // namespace uh::server
