#pragma once

// What the HTTP handlers of the server share: the store, the object store, the services and
// the counters behind /metrics.

#include "server/audit.hpp"
#include "server/auth.hpp"
#include "server/catalog.hpp"
#include "server/config.hpp"
#include "server/device_quota.hpp"
#include "server/last_seen.hpp"
#include "server/metrics.hpp"
#include "server/object_store.hpp"
#include "server/package_service.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct ApiContext {
  const ServerConfig& config;
  Store& store;
  Catalog& catalog;  // what probes read besides the device, kept in memory
  ObjectStore& objects;
  PackageService& packages;
  Auth& auth;
  Metrics& metrics;
  LastSeenBatch& last_seen;
  AuditLog& audit;
  DeviceQuota& quota;
};

}  // namespace uh::server
