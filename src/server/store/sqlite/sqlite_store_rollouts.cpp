// SqliteStore: rollouts and their devices.

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/store/rollout_encoding.hpp"
#include "server/store/shared_statements.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

namespace {

// The model allows 100 stages; this only keeps a wrong argument from allocating gigabytes.
constexpr int kMaxStageCount = 10'000;

// Columns of UH_ROLLOUT_COLUMNS in queries.hpp.
Expected<Rollout> ReadRollout(const Query& row) {
  Rollout rollout;
  rollout.id = row.Int(0);
  rollout.product_uid = row.Text(1);
  rollout.package_uid = row.Text(2);
  rollout.name = row.Text(3);
  UH_TRY(DecodeRolloutState(row.Text(4), rollout));
  UH_TRY(DecodeSelection(row.Text(5), rollout));
  UH_TRY(DecodePlan(row.Text(6), rollout));
  rollout.start_at = row.Text(7);
  UH_TRY(DecodeCurrentStage(row.Int(8), rollout));
  rollout.stage_succeeded_at = row.Text(9);
  rollout.reason = row.Text(10);
  rollout.created_at = row.Text(11);
  rollout.started_at = row.Text(12);
  rollout.finished_at = row.Text(13);
  rollout.paused_by = row.Text(14);
  rollout.paused_at = row.Text(15);
  rollout.revision = row.Int(16);
  return rollout;
}

}  // namespace

namespace sqlite {

Expected<RolloutDevice> ReadRolloutDevice(const Query& row) {
  return store_rows::ReadRolloutDeviceAt(row, 0);
}

std::string IdArray(const std::vector<std::int64_t>& ids) { return nlohmann::json(ids).dump(); }

}  // namespace sqlite

namespace {

using sqlite::IdArray;
using sqlite::ReadRolloutDevice;

struct RolloutOwner {
  std::string product_uid;
  bool archived = false;
};

Expected<std::optional<RolloutOwner>> FindOwner(Connection& db, std::int64_t rollout_id) {
  auto select = db.Prepare(sqlite::sql::kSelectRolloutOwner);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindInt(1, rollout_id);
  return sqlite::OptionalRow(*select, [](const Query& row) {
    return RolloutOwner{row.Text(0), row.Int(1) != 0};
  });
}

// Whether `rollout_id` takes new devices: a rollout of `product_uid` that is not archived.
// An archived one takes none (a caller may have listed it just before it was stopped).
Expected<bool> TakesDevices(Connection& db, std::int64_t rollout_id,
                            const std::string& product_uid) {
  auto owner = FindOwner(db, rollout_id);
  if (!owner) return std::unexpected(std::move(owner.error()));
  if (!*owner) return Fail(Errc::kInvalidArgument, "unknown rollout " + std::to_string(rollout_id));
  if ((*owner)->product_uid != product_uid) {
    return Fail(Errc::kInvalidArgument,
                "rollout " + std::to_string(rollout_id) + " belongs to another product");
  }
  return !(*owner)->archived;
}

Expected<void> CheckProductExists(Connection& db, const std::string& product_uid) {
  auto select = db.Prepare(sqlite::sql::kProductExists);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindText(1, product_uid);
  auto row = select->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInvalidArgument, "unknown product " + product_uid);
  return {};
}

Expected<std::int64_t> SingleCount(Query& query) {
  auto count = sqlite::OptionalRow(query, [](const Query& row) { return row.Int(0); });
  if (!count) return std::unexpected(std::move(count.error()));
  return count->value_or(0);
}

}  // namespace

Expected<Rollout> SqliteStore::CreateRollout(const Rollout& rollout) {
  constexpr std::string_view kWhat = "creating rollout";
  auto selection = EncodeSelection(rollout.selection);
  if (!selection) return std::unexpected(std::move(selection.error()).WithContext(kWhat));
  auto plan = EncodePlan(rollout);
  if (!plan) return std::unexpected(std::move(plan.error()).WithContext(kWhat));
  UH_TRY_CTX(CheckCurrentStage(rollout), kWhat);
  Rollout stored = rollout;
  stored.created_at = sqlite::OrNow(rollout.created_at);
  return pool_->Write(kWhat, [&](Connection& db) -> Expected<Rollout> {
    UH_TRY(CheckProductExists(db, stored.product_uid));
    auto insert = db.Prepare(sqlite::sql::kInsertRollout);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.product_uid);
    insert->BindText(2, stored.package_uid);
    insert->BindText(3, stored.name);
    insert->BindText(4, RolloutStateName(stored.state));
    insert->BindText(5, *selection);
    insert->BindText(6, *plan);
    insert->BindText(7, stored.start_at);
    insert->BindInt(8, stored.current_stage);
    insert->BindText(9, stored.stage_succeeded_at);
    insert->BindText(10, stored.reason);
    insert->BindText(11, stored.created_at);
    insert->BindText(12, stored.started_at);
    insert->BindText(13, stored.finished_at);
    insert->BindText(14, stored.paused_by);
    insert->BindText(15, stored.paused_at);
    auto id = sqlite::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    stored.id = *id;
    return stored;
  });
}

Expected<std::optional<Rollout>> SqliteStore::GetRollout(std::int64_t id) {
  return pool_->Read("reading rollout", [&](Connection& db) -> Expected<std::optional<Rollout>> {
    auto select = db.Prepare(sqlite::sql::kSelectRollout);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return sqlite::OptionalCheckedRow(*select, ReadRollout);
  });
}

Expected<std::vector<Rollout>> SqliteStore::ListRollouts(const std::string& product_uid,
                                                         bool include_archived) {
  return pool_->Read("listing rollouts", [&](Connection& db) -> Expected<std::vector<Rollout>> {
    const bool all = product_uid.empty();
    auto select =
        db.Prepare(all ? sqlite::sql::kListAllRollouts : sqlite::sql::kListProductRollouts);
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    if (!all) select->BindText(++index, product_uid);
    select->BindInt(++index, include_archived ? 1 : 0);
    return sqlite::AllCheckedRows(*select, ReadRollout);
  });
}

namespace {

// UpdateRollout and UpdateRolloutIfUnchanged: false when `only_over_revision` and the stored
// revision is another.
Expected<bool> SaveRollout(sqlite::ConnectionPool& pool, const Rollout& rollout,
                           bool only_over_revision) {
  const std::string what = "updating rollout " + std::to_string(rollout.id);
  auto plan = EncodePlan(rollout);
  if (!plan) return std::unexpected(std::move(plan.error()).WithContext(what));
  UH_TRY_CTX(CheckCurrentStage(rollout), what);
  const bool archive = IsArchived(rollout.state);
  return pool.Write(what, [&](Connection& db) -> Expected<bool> {
    auto owner = FindOwner(db, rollout.id);
    if (!owner) return std::unexpected(std::move(owner.error()));
    if (!*owner) return Fail(Errc::kNotFound, "no such rollout");
    // Its devices may already be in other rollouts: an archived rollout stays archived.
    if ((*owner)->archived && !archive) {
      return Fail(Errc::kInvalidArgument, "the rollout is archived and cannot become " +
                                              std::string(RolloutStateName(rollout.state)));
    }
    auto update = db.Prepare(only_over_revision ? sqlite::sql::kUpdateRolloutIfUnchanged
                                                : sqlite::sql::kUpdateRollout);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, rollout.id);
    update->BindText(2, RolloutStateName(rollout.state));
    update->BindInt(3, rollout.current_stage);
    update->BindText(4, rollout.stage_succeeded_at);
    update->BindText(5, rollout.reason);
    update->BindText(6, *plan);
    update->BindText(7, rollout.started_at);
    update->BindText(8, rollout.finished_at);
    update->BindText(9, rollout.paused_by);
    update->BindText(10, rollout.paused_at);
    if (only_over_revision) update->BindInt(11, rollout.revision);
    UH_TRY(update->Run());
    if (db.Changes() == 0) return false;  // changed meanwhile
    if (!archive) return true;
    // Same transaction: the devices are free for other rollouts exactly when this one ends.
    auto release = db.Prepare(sqlite::sql::kReleaseRolloutDevices);
    if (!release) return std::unexpected(std::move(release.error()));
    release->BindInt(1, rollout.id);
    UH_TRY(release->Run());
    return true;
  });
}

}  // namespace

Expected<void> SqliteStore::UpdateRollout(const Rollout& rollout) {
  auto saved = SaveRollout(*pool_, rollout, false);
  if (!saved) return std::unexpected(std::move(saved.error()));
  return {};
}

Expected<bool> SqliteStore::UpdateRolloutIfUnchanged(const Rollout& rollout) {
  return SaveRollout(*pool_, rollout, true);
}

Expected<bool> SqliteStore::StartRolloutDevice(const RolloutDevice& device,
                                               std::int64_t rate_per_hour, const std::string& since,
                                               const std::string& now) {
  return pool_->Write("starting a rollout device", [&](Connection& db) -> Expected<bool> {
    if (rate_per_hour > 0) {
      auto count = db.Prepare(sqlite::sql::kCountStartedSince);
      if (!count) return std::unexpected(std::move(count.error()));
      count->BindInt(1, device.rollout_id);
      count->BindText(2, since);
      auto row = count->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      const std::int64_t started = *row ? count->Int(0) : 0;
      if (started >= rate_per_hour) {
        // No room now, unless the device was started already (by another server).
        auto mine = db.Prepare(sqlite::sql::kRolloutDeviceStarted);
        if (!mine) return std::unexpected(std::move(mine.error()));
        mine->BindInt(1, device.rollout_id);
        mine->BindInt(2, device.device_id);
        auto found = mine->Step();
        if (!found) return std::unexpected(std::move(found.error()));
        return *found && mine->Int(0) != 0;
      }
    }
    auto start = db.Prepare(sqlite::sql::kStartRolloutDevice);
    if (!start) return std::unexpected(std::move(start.error()));
    start->BindInt(1, device.rollout_id);
    start->BindInt(2, device.device_id);
    start->BindText(3, now);
    UH_TRY(start->Run());
    return true;
  });
}

Expected<std::size_t> SqliteStore::AddRolloutDevices(const std::string& product_uid,
                                                     const std::vector<RolloutDevice>& devices) {
  if (devices.empty()) return 0;
  return pool_->Write("adding rollout devices", [&](Connection& db) -> Expected<std::size_t> {
    std::map<std::int64_t, bool> takes_devices;  // rollout id -> TakesDevices
    std::size_t added = 0;
    for (const RolloutDevice& device : devices) {
      auto known = takes_devices.find(device.rollout_id);
      if (known == takes_devices.end()) {
        auto takes = TakesDevices(db, device.rollout_id, product_uid);
        if (!takes) return std::unexpected(std::move(takes.error()));
        known = takes_devices.emplace(device.rollout_id, *takes).first;
      }
      if (!known->second) continue;
      auto insert = db.Prepare(sqlite::sql::kInsertRolloutDevice);
      if (!insert) return std::unexpected(std::move(insert.error()));
      insert->BindInt(1, device.rollout_id);
      insert->BindInt(2, device.device_id);
      insert->BindText(3, product_uid);
      insert->BindInt(4, device.stage);
      insert->BindText(5, DeviceStateName(device.state));
      insert->BindText(6, device.error_message);
      insert->BindText(7, device.started_at);
      insert->BindText(8, device.updated_at);
      insert->BindInt(9, device.retries);
      UH_TRY_CTX(insert->Run(), "device " + std::to_string(device.device_id));
      added += static_cast<std::size_t>(db.Changes());
    }
    return added;
  });
}

Expected<std::optional<RolloutDevice>> SqliteStore::FindRolloutDevice(std::int64_t device_id) {
  return pool_->Read("finding the device's rollout",
                     [&](Connection& db) -> Expected<std::optional<RolloutDevice>> {
                       auto select = db.Prepare(sqlite::sql::kFindRolloutDevice);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, device_id);
                       return sqlite::OptionalCheckedRow(*select, ReadRolloutDevice);
                     });
}

Expected<void> SqliteStore::UpdateRolloutDevice(const RolloutDevice& device) {
  return pool_->Write("updating rollout device", [&](Connection& db) -> Expected<void> {
    auto update = db.Prepare(sqlite::sql::kUpdateRolloutDevice);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, device.rollout_id);
    update->BindInt(2, device.device_id);
    update->BindText(3, DeviceStateName(device.state));
    update->BindText(4, device.error_message);
    update->BindText(5, device.started_at);
    update->BindText(6, device.updated_at);
    UH_TRY(update->Run());
    if (db.Changes() == 0) {
      return Fail(Errc::kNotFound, "device " + std::to_string(device.device_id) +
                                       " is not in rollout " + std::to_string(device.rollout_id));
    }
    return {};
  });
}

Expected<RolloutStats> SqliteStore::GetRolloutStats(std::int64_t rollout_id, int stage_count) {
  constexpr std::string_view kWhat = "counting rollout devices";
  if (stage_count < 1 || stage_count > kMaxStageCount) {
    return Fail(Errc::kInvalidArgument,
                std::string(kWhat) + ": " + std::to_string(stage_count) + " stages");
  }
  return pool_->Read(kWhat, [&](Connection& db) -> Expected<RolloutStats> {
    auto select = db.Prepare(sqlite::sql::kRolloutStats);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, rollout_id);
    RolloutStats stats;
    stats.stages.resize(static_cast<std::size_t>(stage_count));
    while (true) {
      auto row = select->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) return stats;
      RolloutDevice group;  // the group's state, decoded like a device's
      group.rollout_id = rollout_id;
      UH_TRY(DecodeDeviceState(select->Text(1), group));
      // Stages past the plan's last (the plan shrank) count as its last.
      const auto stage = std::clamp<std::int64_t>(select->Int(0), 0, stage_count - 1);
      stats.stages[static_cast<std::size_t>(stage)][static_cast<std::size_t>(group.state)] +=
          select->Int(2);
    }
  });
}

Expected<std::int64_t> SqliteStore::CountStartedSince(std::int64_t rollout_id,
                                                      const std::string& since) {
  return pool_->Read("counting started devices", [&](Connection& db) -> Expected<std::int64_t> {
    auto select = db.Prepare(sqlite::sql::kCountStartedSince);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, rollout_id);
    select->BindText(2, since);
    return SingleCount(*select);
  });
}

Expected<std::vector<RolloutDevice>> SqliteStore::ListRolloutDevices(
    std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
    std::optional<DeviceState> state) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutDevice>{};
  return pool_->Read("listing rollout devices",
                     [&](Connection& db) -> Expected<std::vector<RolloutDevice>> {
                       auto select = db.Prepare(sqlite::sql::kListRolloutDevices);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindInt(2, after_device_id);
                       select->BindInt(3, sqlite::ToStoredCount(limit));
                       select->BindText(4, state ? DeviceStateName(*state) : std::string_view());
                       return sqlite::AllCheckedRows(*select, ReadRolloutDevice);
                     });
}

Expected<std::vector<RolloutProgressPoint>> SqliteStore::RolloutProgress(std::int64_t rollout_id,
                                                                         std::size_t limit) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutProgressPoint>{};
  return pool_->Read("reading rollout progress",
                     [&](Connection& db) -> Expected<std::vector<RolloutProgressPoint>> {
                       auto select = db.Prepare(sqlite::sql::kRolloutProgress);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindInt(2, sqlite::ToStoredCount(limit));
                       return sqlite::AllRows(*select, [](const Query& row) {
                         return RolloutProgressPoint{
                             .minute = row.Text(0), .updated = row.Int(1), .failed = row.Int(2)};
                       });
                     });
}

Expected<std::vector<RolloutMember>> SqliteStore::ListRolloutMembers(
    std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
    std::optional<DeviceState> state) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutMember>{};
  return pool_->Read(
      "listing rollout devices", [&](Connection& db) -> Expected<std::vector<RolloutMember>> {
        auto select = db.Prepare(state ? sqlite::sql::kListRolloutMembersByState
                                       : sqlite::sql::kListRolloutMembers);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, rollout_id);
        select->BindInt(2, after_device_id);
        select->BindInt(3, sqlite::ToStoredCount(limit));
        if (state) select->BindText(4, DeviceStateName(*state));
        return sqlite::AllCheckedRows(*select, [](const Query& row) -> Expected<RolloutMember> {
          auto place = ReadRolloutDevice(row);
          if (!place) return std::unexpected(std::move(place.error()));
          return RolloutMember{.place = std::move(*place),
                               .identity = row.Text(8),
                               .hardware = row.Text(9),
                               .version = row.Text(10),
                               .last_seen = row.Text(11)};
        });
      });
}

Expected<std::vector<RolloutStats>> SqliteStore::GetRolloutStatsOf(
    const std::vector<Rollout>& rollouts) {
  constexpr std::string_view kWhat = "counting the devices of rollouts";
  std::vector<RolloutStats> out(rollouts.size());
  std::map<std::int64_t, std::size_t> index;  // rollout id -> position
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < rollouts.size(); ++i) {
    const auto stage_count = static_cast<int>(rollouts[i].stages.size());
    if (stage_count < 1 || stage_count > kMaxStageCount) {
      return Fail(Errc::kInvalidArgument,
                  std::string(kWhat) + ": " + std::to_string(stage_count) + " stages");
    }
    out[i].stages.resize(static_cast<std::size_t>(stage_count));
    index.emplace(rollouts[i].id, i);
    ids.push_back(rollouts[i].id);
  }
  if (ids.empty()) return out;
  return pool_->Read(kWhat, [&](Connection& db) -> Expected<std::vector<RolloutStats>> {
    auto select = db.Prepare(sqlite::sql::kRolloutStatsOf);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, IdArray(ids));
    while (true) {
      auto row = select->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) return out;
      const auto found = index.find(select->Int(0));
      if (found == index.end()) continue;
      RolloutStats& stats = out[found->second];
      RolloutDevice group;
      group.rollout_id = found->first;
      UH_TRY(DecodeDeviceState(select->Text(2), group));
      const auto last = static_cast<std::int64_t>(stats.stages.size()) - 1;
      const auto stage = std::clamp<std::int64_t>(select->Int(1), 0, last);
      stats.stages[static_cast<std::size_t>(stage)][static_cast<std::size_t>(group.state)] +=
          select->Int(3);
    }
  });
}

Expected<std::map<std::int64_t, std::int64_t>> SqliteStore::CountStartedSinceOf(
    const std::vector<std::int64_t>& rollout_ids, const std::string& since) {
  using Counts = std::map<std::int64_t, std::int64_t>;
  if (rollout_ids.empty()) return Counts{};
  return pool_->Read("counting started devices", [&](Connection& db) -> Expected<Counts> {
    auto select = db.Prepare(sqlite::sql::kCountStartedSinceOf);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, IdArray(rollout_ids));
    select->BindText(2, since);
    auto rows = sqlite::AllRows(*select, [](const Query& row) {
      return std::pair{row.Int(0), row.Int(1)};
    });
    if (!rows) return std::unexpected(std::move(rows.error()));
    return Counts(rows->begin(), rows->end());
  });
}

Expected<std::vector<RolloutDevice>> SqliteStore::FindRolloutDevices(
    std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids) {
  if (device_ids.empty()) return std::vector<RolloutDevice>{};
  return pool_->Read("finding rollout devices",
                     [&](Connection& db) -> Expected<std::vector<RolloutDevice>> {
                       auto select = db.Prepare(sqlite::sql::kSelectRolloutDevicesById);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindText(2, IdArray(device_ids));
                       return sqlite::AllCheckedRows(*select, ReadRolloutDevice);
                     });
}

Expected<std::vector<std::int64_t>> SqliteStore::RetryFailedRolloutDevices(
    std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids, const std::string& now) {
  return pool_->Write(
      "retrying rollout devices", [&](Connection& db) -> Expected<std::vector<std::int64_t>> {
        auto update = db.Prepare(device_ids.empty() ? sqlite::sql::kRetryRolloutDevices
                                                    : sqlite::sql::kRetryListedRolloutDevices);
        if (!update) return std::unexpected(std::move(update.error()));
        update->BindInt(1, rollout_id);
        update->BindText(2, now);
        if (!device_ids.empty()) update->BindText(3, IdArray(device_ids));
        auto changed = sqlite::AllRows(*update, [](const Query& row) { return row.Int(0); });
        if (!changed) return std::unexpected(std::move(changed.error()));
        std::ranges::sort(*changed);
        return std::move(*changed);
      });
}

Expected<std::vector<std::int64_t>> SqliteStore::HeldDevices(
    const std::string& product_uid, const std::vector<std::int64_t>& device_ids) {
  if (device_ids.empty()) return std::vector<std::int64_t>{};
  return pool_->Read("finding devices held by rollouts",
                     [&](Connection& db) -> Expected<std::vector<std::int64_t>> {
                       auto select = db.Prepare(sqlite::sql::kHeldDevices);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindText(1, product_uid);
                       select->BindText(2, IdArray(device_ids));
                       return sqlite::AllRows(*select, [](const Query& row) { return row.Int(0); });
                     });
}

Expected<bool> SqliteStore::HoldLease(const std::string& name, const std::string& holder,
                                      std::int64_t duration_ms) {
  if (duration_ms <= 0) return Fail(Errc::kInvalidArgument, "a lease must last some time");
  return pool_->Write("holding the lease " + name, [&](Connection& db) {
    return store_rows::HoldLeaseIn(db, sqlite::sql::kHoldLease, name, holder, duration_ms);
  });
}

Expected<void> SqliteStore::ReleaseLease(const std::string& name, const std::string& holder) {
  return pool_->Write("releasing the lease " + name, [&](Connection& db) {
    return store_rows::ReleaseLeaseIn(db, sqlite::sql::kReleaseLease, name, holder);
  });
}

}  // namespace uh::server
