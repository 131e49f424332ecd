// PostgresStore: rollouts and their devices. The rules are the SQLite store's
// (sqlite/sqlite_store_rollouts.cpp); what differs is how PostgreSQL is asked.

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/pool.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/postgres/queries_rollouts.hpp"
#include "server/store/postgres/store_helpers.hpp"
#include "server/store/rollout_encoding.hpp"
#include "server/store/shared_statements.hpp"

namespace uh::server {

using pg::Connection;
using pg::Query;

namespace {

// The model allows 100 stages; this only keeps a wrong argument from allocating gigabytes.
constexpr int kMaxStageCount = 10'000;

// Members inserted by one statement: bounds the size of its parameters, not the transaction.
constexpr std::size_t kInsertBatch = 1000;

// Columns of UH_PG_ROLLOUT_COLUMNS in queries_rollouts.hpp.
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

namespace pg {

Expected<RolloutDevice> ReadRolloutDevice(const Query& row) {
  return store_rows::ReadRolloutDeviceAt(row, 0);
}

std::string IdArray(const std::vector<std::int64_t>& ids) {
  std::string literal = "{";
  for (const std::int64_t id : ids) {
    if (literal.size() > 1) literal += ',';
    literal += std::to_string(id);
  }
  literal += '}';
  return literal;
}

}  // namespace pg

namespace {

using pg::IdArray;
using pg::ReadRolloutDevice;
using pg::TextArray;

struct RolloutOwner {
  std::string product_uid;
  bool archived = false;
};

Expected<std::optional<RolloutOwner>> FindOwner(Connection& db, std::int64_t rollout_id) {
  auto select = db.Prepare(pg::sql::kSelectRolloutOwner);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindInt(1, rollout_id);
  return pg::OptionalRow(*select, [](const Query& row) {
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
  auto select = db.Prepare(pg::sql::kRolloutProductExists);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindText(1, product_uid);
  auto row = select->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInvalidArgument, "unknown product " + product_uid);
  return {};
}

Expected<std::int64_t> SingleCount(Query& query) {
  auto count = pg::OptionalRow(query, [](const Query& row) { return row.Int(0); });
  if (!count) return std::unexpected(std::move(count.error()));
  return count->value_or(0);
}

// The members AddRolloutDevices inserts, in the order it inserts them. Of the members of
// rollouts that take devices, only each device's first can go in: a later one of the same
// device would meet the first's row, or whatever held the device before it, in the partial
// unique index, as SQLite's row-by-row inserts do. The CHECKs a skipped row would have failed
// are applied to every member, as SQLite applies them before looking for conflicts. Sorted by
// device id, so that concurrent calls wait for one another's rows in one order instead of
// deadlocking.
Expected<std::vector<const RolloutDevice*>> MembersToInsert(
    const std::vector<RolloutDevice>& devices, const std::map<std::int64_t, bool>& takes_devices) {
  std::vector<const RolloutDevice*> members;
  std::set<std::int64_t> seen;
  for (const RolloutDevice& device : devices) {
    if (!takes_devices.at(device.rollout_id)) continue;
    if (device.stage < 0 || device.retries < 0) {
      return Fail(Errc::kInvalidArgument, "device " + std::to_string(device.device_id) +
                                              ": a value is not one of those allowed");
    }
    if (seen.insert(device.device_id).second) members.push_back(&device);
  }
  std::ranges::sort(members, {}, &RolloutDevice::device_id);
  return members;
}

// Inserts `members` (of one product) in one statement; returns how many went in.
Expected<std::int64_t> InsertMembers(Connection& db, const std::string& product_uid,
                                     std::span<const RolloutDevice* const> members) {
  std::vector<std::int64_t> rollout_ids, device_ids, stages, retries;
  std::vector<std::string_view> states, errors, started, updated;
  for (const RolloutDevice* member : members) {
    rollout_ids.push_back(member->rollout_id);
    device_ids.push_back(member->device_id);
    stages.push_back(member->stage);
    states.push_back(DeviceStateName(member->state));
    errors.push_back(member->error_message);
    started.push_back(member->started_at);
    updated.push_back(member->updated_at);
    retries.push_back(member->retries);
  }
  auto insert = db.Prepare(pg::sql::kInsertRolloutDevices);
  if (!insert) return std::unexpected(std::move(insert.error()));
  insert->BindText(1, product_uid);
  insert->BindText(2, IdArray(rollout_ids));
  insert->BindText(3, IdArray(device_ids));
  insert->BindText(4, IdArray(stages));
  insert->BindText(5, TextArray(states));
  insert->BindText(6, TextArray(errors));
  insert->BindText(7, TextArray(started));
  insert->BindText(8, TextArray(updated));
  insert->BindText(9, IdArray(retries));
  UH_TRY(insert->Run());
  return insert->Changes();
}

}  // namespace

Expected<Rollout> PostgresStore::CreateRollout(const Rollout& rollout) {
  constexpr std::string_view kWhat = "creating rollout";
  auto selection = EncodeSelection(rollout.selection);
  if (!selection) return std::unexpected(std::move(selection.error()).WithContext(kWhat));
  auto plan = EncodePlan(rollout);
  if (!plan) return std::unexpected(std::move(plan.error()).WithContext(kWhat));
  UH_TRY_CTX(CheckCurrentStage(rollout), kWhat);
  Rollout stored = rollout;
  stored.created_at = pg::OrNow(rollout.created_at);
  return pool_->Write(kWhat, [&](Connection& db) -> Expected<Rollout> {
    UH_TRY(CheckProductExists(db, stored.product_uid));
    auto insert = db.Prepare(pg::sql::kInsertRollout);
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
    auto id = pg::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    Rollout created = stored;
    created.id = *id;
    return created;
  });
}

Expected<std::optional<Rollout>> PostgresStore::GetRollout(std::int64_t id) {
  return pool_->Read("reading rollout", [&](Connection& db) -> Expected<std::optional<Rollout>> {
    auto select = db.Prepare(pg::sql::kSelectRollout);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return pg::OptionalCheckedRow(*select, ReadRollout);
  });
}

Expected<std::vector<Rollout>> PostgresStore::ListRollouts(const std::string& product_uid,
                                                           bool include_archived) {
  return pool_->Read("listing rollouts", [&](Connection& db) -> Expected<std::vector<Rollout>> {
    const bool all = product_uid.empty();
    auto select = db.Prepare(all ? pg::sql::kListAllRollouts : pg::sql::kListProductRollouts);
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    if (!all) select->BindText(++index, product_uid);
    select->BindInt(++index, include_archived ? 1 : 0);
    return pg::AllCheckedRows(*select, ReadRollout);
  });
}

namespace {

// UpdateRollout and UpdateRolloutIfUnchanged: false when `only_over_revision` and the stored
// revision is another.
Expected<bool> SaveRollout(pg::ConnectionPool& pool, const Rollout& rollout,
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
    auto update = db.Prepare(only_over_revision ? pg::sql::kUpdateRolloutIfUnchanged
                                                : pg::sql::kUpdateRollout);
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
    if (update->Changes() == 0) return false;  // changed meanwhile
    if (!archive) return true;
    // Same transaction: the devices are free for other rollouts exactly when this one ends.
    auto release = db.Prepare(pg::sql::kReleaseRolloutDevices);
    if (!release) return std::unexpected(std::move(release.error()));
    release->BindInt(1, rollout.id);
    UH_TRY(release->Run());
    return true;
  });
}

}  // namespace

Expected<void> PostgresStore::UpdateRollout(const Rollout& rollout) {
  auto saved = SaveRollout(*pool_, rollout, false);
  if (!saved) return std::unexpected(std::move(saved.error()));
  return {};
}

Expected<bool> PostgresStore::UpdateRolloutIfUnchanged(const Rollout& rollout) {
  return SaveRollout(*pool_, rollout, true);
}

// Serializable: two servers that both count room for one more device and both start one
// conflict, and the pool runs the later one again, which then finds no room.
Expected<bool> PostgresStore::StartRolloutDevice(const RolloutDevice& device,
                                                 std::int64_t rate_per_hour,
                                                 const std::string& since, const std::string& now) {
  return pool_->Write("starting a rollout device", [&](Connection& db) -> Expected<bool> {
    if (rate_per_hour > 0) {
      auto count = db.Prepare(pg::sql::kCountStartedSince);
      if (!count) return std::unexpected(std::move(count.error()));
      count->BindInt(1, device.rollout_id);
      count->BindText(2, since);
      auto row = count->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      const std::int64_t started = *row ? count->Int(0) : 0;
      if (started >= rate_per_hour) {
        // No room now, unless the device was started already (by another server).
        auto mine = db.Prepare(pg::sql::kRolloutDeviceStarted);
        if (!mine) return std::unexpected(std::move(mine.error()));
        mine->BindInt(1, device.rollout_id);
        mine->BindInt(2, device.device_id);
        auto found = mine->Step();
        if (!found) return std::unexpected(std::move(found.error()));
        return *found && mine->Int(0) != 0;
      }
    }
    auto start = db.Prepare(pg::sql::kStartRolloutDevice);
    if (!start) return std::unexpected(std::move(start.error()));
    start->BindInt(1, device.rollout_id);
    start->BindInt(2, device.device_id);
    start->BindText(3, now);
    UH_TRY(start->Run());
    return true;
  });
}

// Two servers adding the same device to two rollouts: the second insert waits for the first
// transaction in the unique index and, once it commits, fails as a serialization conflict, so
// the pool runs the whole call again and this time skips the device.
Expected<std::size_t> PostgresStore::AddRolloutDevices(const std::string& product_uid,
                                                       const std::vector<RolloutDevice>& devices) {
  if (devices.empty()) return 0;
  return pool_->Write("adding rollout devices", [&](Connection& db) -> Expected<std::size_t> {
    std::map<std::int64_t, bool> takes_devices;  // rollout id -> TakesDevices
    for (const RolloutDevice& device : devices) {
      if (takes_devices.contains(device.rollout_id)) continue;
      auto takes = TakesDevices(db, device.rollout_id, product_uid);
      if (!takes) return std::unexpected(std::move(takes.error()));
      takes_devices.emplace(device.rollout_id, *takes);
    }
    auto members = MembersToInsert(devices, takes_devices);
    if (!members) return std::unexpected(std::move(members.error()));
    const std::span<const RolloutDevice* const> all(*members);
    std::size_t added = 0;
    for (std::size_t first = 0; first < all.size(); first += kInsertBatch) {
      auto inserted = InsertMembers(db, product_uid,
                                    all.subspan(first, std::min(kInsertBatch, all.size() - first)));
      if (!inserted) return std::unexpected(std::move(inserted.error()));
      added += static_cast<std::size_t>(*inserted);
    }
    return added;
  });
}

Expected<std::optional<RolloutDevice>> PostgresStore::FindRolloutDevice(std::int64_t device_id) {
  return pool_->Read("finding the device's rollout",
                     [&](Connection& db) -> Expected<std::optional<RolloutDevice>> {
                       auto select = db.Prepare(pg::sql::kFindRolloutDevice);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, device_id);
                       return pg::OptionalCheckedRow(*select, ReadRolloutDevice);
                     });
}

Expected<void> PostgresStore::UpdateRolloutDevice(const RolloutDevice& device) {
  return pool_->Write("updating rollout device", [&](Connection& db) -> Expected<void> {
    auto update = db.Prepare(pg::sql::kUpdateRolloutDevice);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, device.rollout_id);
    update->BindInt(2, device.device_id);
    update->BindText(3, DeviceStateName(device.state));
    update->BindText(4, device.error_message);
    update->BindText(5, device.started_at);
    update->BindText(6, device.updated_at);
    UH_TRY(update->Run());
    if (update->Changes() == 0) {
      return Fail(Errc::kNotFound, "device " + std::to_string(device.device_id) +
                                       " is not in rollout " + std::to_string(device.rollout_id));
    }
    return {};
  });
}

Expected<RolloutStats> PostgresStore::GetRolloutStats(std::int64_t rollout_id, int stage_count) {
  constexpr std::string_view kWhat = "counting rollout devices";
  if (stage_count < 1 || stage_count > kMaxStageCount) {
    return Fail(Errc::kInvalidArgument,
                std::string(kWhat) + ": " + std::to_string(stage_count) + " stages");
  }
  return pool_->Read(kWhat, [&](Connection& db) -> Expected<RolloutStats> {
    auto select = db.Prepare(pg::sql::kRolloutStats);
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

Expected<std::int64_t> PostgresStore::CountStartedSince(std::int64_t rollout_id,
                                                        const std::string& since) {
  return pool_->Read("counting started devices", [&](Connection& db) -> Expected<std::int64_t> {
    auto select = db.Prepare(pg::sql::kCountStartedSince);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, rollout_id);
    select->BindText(2, since);
    return SingleCount(*select);
  });
}

Expected<std::vector<RolloutDevice>> PostgresStore::ListRolloutDevices(
    std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
    std::optional<DeviceState> state) {
  limit = std::min(limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutDevice>{};
  return pool_->Read("listing rollout devices",
                     [&](Connection& db) -> Expected<std::vector<RolloutDevice>> {
                       auto select = db.Prepare(pg::sql::kListRolloutDevices);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindInt(2, after_device_id);
                       select->BindInt(3, pg::ToStoredCount(limit));
                       select->BindText(4, state ? DeviceStateName(*state) : std::string_view());
                       return pg::AllCheckedRows(*select, ReadRolloutDevice);
                     });
}

Expected<std::vector<RolloutProgressPoint>> PostgresStore::RolloutProgress(std::int64_t rollout_id,
                                                                           std::size_t limit) {
  limit = std::min(limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutProgressPoint>{};
  return pool_->Read("reading rollout progress",
                     [&](Connection& db) -> Expected<std::vector<RolloutProgressPoint>> {
                       auto select = db.Prepare(pg::sql::kRolloutProgress);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindInt(2, pg::ToStoredCount(limit));
                       return pg::AllRows(*select, [](const Query& row) {
                         return RolloutProgressPoint{
                             .minute = row.Text(0), .updated = row.Int(1), .failed = row.Int(2)};
                       });
                     });
}

Expected<std::vector<RolloutMember>> PostgresStore::ListRolloutMembers(
    std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
    std::optional<DeviceState> state) {
  limit = std::min(limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<RolloutMember>{};
  return pool_->Read(
      "listing rollout devices", [&](Connection& db) -> Expected<std::vector<RolloutMember>> {
        auto select =
            db.Prepare(state ? pg::sql::kListRolloutMembersByState : pg::sql::kListRolloutMembers);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, rollout_id);
        select->BindInt(2, after_device_id);
        select->BindInt(3, pg::ToStoredCount(limit));
        if (state) select->BindText(4, DeviceStateName(*state));
        return pg::AllCheckedRows(*select, [](const Query& row) -> Expected<RolloutMember> {
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

Expected<std::vector<RolloutStats>> PostgresStore::GetRolloutStatsOf(
    const std::vector<Rollout>& rollouts) {
  constexpr std::string_view kWhat = "counting the devices of rollouts";
  std::vector<RolloutStats> empty(rollouts.size());
  std::map<std::int64_t, std::size_t> index;  // rollout id -> position
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < rollouts.size(); ++i) {
    const auto stage_count = static_cast<int>(rollouts[i].stages.size());
    if (stage_count < 1 || stage_count > kMaxStageCount) {
      return Fail(Errc::kInvalidArgument,
                  std::string(kWhat) + ": " + std::to_string(stage_count) + " stages");
    }
    empty[i].stages.resize(static_cast<std::size_t>(stage_count));
    index.emplace(rollouts[i].id, i);
    ids.push_back(rollouts[i].id);
  }
  if (ids.empty()) return empty;
  return pool_->Read(kWhat, [&](Connection& db) -> Expected<std::vector<RolloutStats>> {
    auto select = db.Prepare(pg::sql::kRolloutStatsOf);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, IdArray(ids));
    std::vector<RolloutStats> out = empty;
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

Expected<std::map<std::int64_t, std::int64_t>> PostgresStore::CountStartedSinceOf(
    const std::vector<std::int64_t>& rollout_ids, const std::string& since) {
  using Counts = std::map<std::int64_t, std::int64_t>;
  if (rollout_ids.empty()) return Counts{};
  return pool_->Read("counting started devices", [&](Connection& db) -> Expected<Counts> {
    auto select = db.Prepare(pg::sql::kCountStartedSinceOf);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, IdArray(rollout_ids));
    select->BindText(2, since);
    auto rows = pg::AllRows(*select, [](const Query& row) {
      return std::pair{row.Int(0), row.Int(1)};
    });
    if (!rows) return std::unexpected(std::move(rows.error()));
    return Counts(rows->begin(), rows->end());
  });
}

Expected<std::vector<RolloutDevice>> PostgresStore::FindRolloutDevices(
    std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids) {
  if (device_ids.empty()) return std::vector<RolloutDevice>{};
  return pool_->Read("finding rollout devices",
                     [&](Connection& db) -> Expected<std::vector<RolloutDevice>> {
                       auto select = db.Prepare(pg::sql::kSelectRolloutDevicesById);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, rollout_id);
                       select->BindText(2, IdArray(device_ids));
                       return pg::AllCheckedRows(*select, ReadRolloutDevice);
                     });
}

Expected<std::vector<std::int64_t>> PostgresStore::RetryFailedRolloutDevices(
    std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids, const std::string& now) {
  return pool_->Write(
      "retrying rollout devices", [&](Connection& db) -> Expected<std::vector<std::int64_t>> {
        auto update = db.Prepare(device_ids.empty() ? pg::sql::kRetryRolloutDevices
                                                    : pg::sql::kRetryListedRolloutDevices);
        if (!update) return std::unexpected(std::move(update.error()));
        update->BindInt(1, rollout_id);
        update->BindText(2, now);
        if (!device_ids.empty()) update->BindText(3, IdArray(device_ids));
        auto changed = pg::AllRows(*update, [](const Query& row) { return row.Int(0); });
        if (!changed) return std::unexpected(std::move(changed.error()));
        std::ranges::sort(*changed);
        return std::move(*changed);
      });
}

Expected<std::vector<std::int64_t>> PostgresStore::HeldDevices(
    const std::string& product_uid, const std::vector<std::int64_t>& device_ids) {
  if (device_ids.empty()) return std::vector<std::int64_t>{};
  return pool_->Read("finding devices held by rollouts",
                     [&](Connection& db) -> Expected<std::vector<std::int64_t>> {
                       auto select = db.Prepare(pg::sql::kHeldDevices);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindText(1, product_uid);
                       select->BindText(2, IdArray(device_ids));
                       return pg::AllRows(*select, [](const Query& row) { return row.Int(0); });
                     });
}

Expected<bool> PostgresStore::HoldLease(const std::string& name, const std::string& holder,
                                        std::int64_t duration_ms) {
  if (duration_ms <= 0) return Fail(Errc::kInvalidArgument, "a lease must last some time");
  return pool_->Write("holding the lease " + name, [&](Connection& db) {
    return store_rows::HoldLeaseIn(db, pg::sql::kHoldLease, name, holder, duration_ms);
  });
}

Expected<void> PostgresStore::ReleaseLease(const std::string& name, const std::string& holder) {
  return pool_->Write("releasing the lease " + name, [&](Connection& db) {
    return store_rows::ReleaseLeaseIn(db, pg::sql::kReleaseLease, name, holder);
  });
}

}  // namespace uh::server
