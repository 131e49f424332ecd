#pragma once

// What every probe needs besides the device — the product, its signing keys, its non-archived
// rollouts and their packages — kept in memory, so that the common probe reads the store once
// (Store::LookupProbe). The store's catalog version moves on in the same transaction as any
// change to those tables, by this server or another sharing the database (migration 0013); a
// probe that reads a newer version than the one kept drops everything kept, and what it needs
// is read again. A change is thus seen by the next probe on every server, with no expiry.
//
// Every lookup names the version the caller read before it: what is read from the store after
// that is at least as new, and is kept only while the version kept is still that one (a value
// read before a change is never kept under the version after it).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "server/model/rollout.hpp"
#include "server/store/store.hpp"

namespace uh::server {

class Catalog {
 public:
  explicit Catalog(Store& store) : store_(store) {}

  // The product; null when there is none (not kept: anyone can probe for made-up products).
  [[nodiscard]] Expected<std::shared_ptr<const Product>> GetProduct(std::int64_t version,
                                                                    const std::string& uid);
  // The package; null when there is none.
  [[nodiscard]] Expected<std::shared_ptr<const Package>> GetPackage(std::int64_t version,
                                                                    const std::string& uid);
  // The product's signing keys (Store::ListKeys).
  [[nodiscard]] Expected<std::shared_ptr<const std::vector<SigningKey>>> ListKeys(
      std::int64_t version, const std::string& product_uid);
  // The product's scheduled, running and paused rollouts (Store::ListRollouts).
  [[nodiscard]] Expected<std::shared_ptr<const std::vector<Rollout>>> ActiveRollouts(
      std::int64_t version, const std::string& product_uid);
  // A non-archived rollout of the product by id; null when it is none of them.
  [[nodiscard]] Expected<std::shared_ptr<const Rollout>> ActiveRollout(
      std::int64_t version, const std::string& product_uid, std::int64_t id);

  // How often an entry was found kept, and read from the store (for tests and metrics).
  struct Counts {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  [[nodiscard]] Counts counts() const;

 private:
  template <typename Value>
  using Map = std::unordered_map<std::string, std::shared_ptr<const Value>>;

  // Kept at version_; dropped together when a newer version is seen.
  struct Entries {
    Map<Product> products;
    Map<Package> packages;
    Map<std::vector<SigningKey>> keys;
    Map<std::vector<Rollout>> rollouts;
  };

  // The value kept for `key` at `version` or after, else read with `load` (an
  // Expected<std::optional<Value>>, nullopt for none) and kept when found.
  template <typename Value, typename Load>
  Expected<std::shared_ptr<const Value>> Get(std::int64_t version, Map<Value> Entries::*map,
                                             const std::string& key, Load load);
  // Under mutex_: drops everything kept when `version` is newer.
  void SeeVersion(std::int64_t version);

  // A bound on each map: products, packages and rollouts are few; this only keeps a flood of
  // distinct lookups from growing memory without end (a full map is emptied).
  static constexpr std::size_t kMaxEntries = 10'000;

  Store& store_;
  mutable std::mutex mutex_;
  std::int64_t version_ = -1;
  Entries entries_;
  Counts counts_;
};

}  // namespace uh::server
