// SqliteStore: a device's history (the versions it ran, the rollouts it was part of).

#include <algorithm>
#include <string>
#include <vector>

#include "server/store/rollout_encoding.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

Expected<std::vector<DeviceVersion>> SqliteStore::ListDeviceVersions(std::int64_t device_id,
                                                                     std::int64_t before_id,
                                                                     std::size_t limit) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<DeviceVersion>{};
  return pool_->Read(
      "listing device versions", [&](Connection& db) -> Expected<std::vector<DeviceVersion>> {
        auto select = db.Prepare(sqlite::sql::kListDeviceVersions);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, device_id);
        select->BindInt(2, before_id);
        select->BindInt(3, sqlite::ToStoredCount(limit));
        return sqlite::AllRows(*select, [](const Query& row) {
          return DeviceVersion{.id = row.Int(0), .version = row.Text(1), .since = row.Text(2)};
        });
      });
}

Expected<std::vector<DeviceRollout>> SqliteStore::ListDeviceRollouts(std::int64_t device_id,
                                                                     std::int64_t before_rollout_id,
                                                                     std::size_t limit) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<DeviceRollout>{};
  return pool_->Read(
      "listing device rollouts", [&](Connection& db) -> Expected<std::vector<DeviceRollout>> {
        auto select = db.Prepare(sqlite::sql::kListDeviceRollouts);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, device_id);
        select->BindInt(2, before_rollout_id);
        select->BindInt(3, sqlite::ToStoredCount(limit));
        return sqlite::AllCheckedRows(*select, [](const Query& row) -> Expected<DeviceRollout> {
          auto place = sqlite::ReadRolloutDevice(row);
          if (!place) return std::unexpected(std::move(place.error()));
          Rollout rollout;  // the rollout's state, decoded as the rollout's own is
          rollout.id = place->rollout_id;
          UH_TRY(DecodeRolloutState(row.Text(11), rollout));
          return DeviceRollout{.place = std::move(*place),
                               .name = row.Text(8),
                               .package_uid = row.Text(9),
                               .package_version = row.Text(10),
                               .rollout_state = rollout.state,
                               .active = row.Int(12) != 0};
        });
      });
}

}  // namespace uh::server
