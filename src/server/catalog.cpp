#include "server/catalog.hpp"

#include <algorithm>
#include <utility>

namespace uh::server {

void Catalog::SeeVersion(std::int64_t version) {
  if (version <= version_) return;
  version_ = version;
  entries_ = Entries{};
}

template <typename Value, typename Load>
Expected<std::shared_ptr<const Value>> Catalog::Get(std::int64_t version, Map<Value> Entries::*map,
                                                    const std::string& key, Load load) {
  {
    std::lock_guard lock(mutex_);
    SeeVersion(version);
    // Kept at version_ >= version: at least as new as the caller needs.
    const auto& kept = entries_.*map;
    if (auto found = kept.find(key); found != kept.end()) {
      ++counts_.hits;
      return found->second;
    }
    ++counts_.misses;
  }
  auto loaded = load();
  if (!loaded) return std::unexpected(std::move(loaded.error()));
  if (!*loaded) return std::shared_ptr<const Value>();
  auto value = std::make_shared<const Value>(std::move(**loaded));
  std::lock_guard lock(mutex_);
  // Read after `version` was: kept only while nothing newer has been seen since.
  if (version_ == version) {
    auto& kept = entries_.*map;
    if (kept.size() >= kMaxEntries) kept.clear();
    kept.emplace(key, value);
  }
  return value;
}

Expected<std::shared_ptr<const Product>> Catalog::GetProduct(std::int64_t version,
                                                             const std::string& uid) {
  return Get(version, &Entries::products, uid, [&] { return store_.GetProduct(uid); });
}

Expected<std::shared_ptr<const Package>> Catalog::GetPackage(std::int64_t version,
                                                             const std::string& uid) {
  return Get(version, &Entries::packages, uid, [&] { return store_.GetPackage(uid); });
}

Expected<std::shared_ptr<const std::vector<SigningKey>>> Catalog::ListKeys(
    std::int64_t version, const std::string& product_uid) {
  return Get(version, &Entries::keys, product_uid,
             [&]() -> Expected<std::optional<std::vector<SigningKey>>> {
               auto keys = store_.ListKeys(product_uid);
               if (!keys) return std::unexpected(std::move(keys.error()));
               return std::move(*keys);
             });
}

Expected<std::shared_ptr<const std::vector<Rollout>>> Catalog::ActiveRollouts(
    std::int64_t version, const std::string& product_uid) {
  return Get(version, &Entries::rollouts, product_uid,
             [&]() -> Expected<std::optional<std::vector<Rollout>>> {
               auto rollouts = store_.ListRollouts(product_uid, false);
               if (!rollouts) return std::unexpected(std::move(rollouts.error()));
               return std::move(*rollouts);
             });
}

Expected<std::shared_ptr<const Rollout>> Catalog::ActiveRollout(std::int64_t version,
                                                                const std::string& product_uid,
                                                                std::int64_t id) {
  auto rollouts = ActiveRollouts(version, product_uid);
  if (!rollouts) return std::unexpected(std::move(rollouts.error()));
  const auto found = std::ranges::find(**rollouts, id, &Rollout::id);
  if (found == (*rollouts)->end()) return std::shared_ptr<const Rollout>();
  // Shares the list's ownership: the rollout lives as long as the list does.
  return std::shared_ptr<const Rollout>(*rollouts, &*found);
}

Catalog::Counts Catalog::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace uh::server
