// PostgresStore: devices and reports, the device search, a device's history, and how a
// rollout's selection matches a product's devices (counted by the database: a preview of a
// fleet of any size reads a few groups, not the devices).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/pool.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/postgres/queries_devices.hpp"
#include "server/store/postgres/store_helpers.hpp"
#include "server/store/rollout_encoding.hpp"
#include "server/store/shared_statements.hpp"

namespace uh::server {

using pg::Connection;
using pg::Query;

namespace {

using pg::SqlBuilder;
using pg::TextArray;

// Columns of the device statements (UH_PG_DEVICE_COLUMNS in queries_devices.hpp).
Device ReadDevice(const Query& row) {
  return Device{.id = row.Int(0),
                .product_uid = row.Text(1),
                .identity = row.Text(2),
                .attributes = row.Text(3),
                .hardware = row.Text(4),
                .version = row.Text(5),
                .last_seen = row.Text(6),
                .created_at = row.Text(7),
                .auth_state = row.Text(8),
                .token_hash = row.Text(9)};
}

Report ReadReport(const Query& row) {
  return Report{.id = row.Int(0),
                .device_id = row.Int(1),
                .package_uid = row.Text(2),
                .status = row.Text(3),
                .previous_state = row.Text(4),
                .error_message = row.Text(5),
                .current_log = row.Text(6),
                .created_at = row.Text(7)};
}

// Appends the conditions of a DeviceFilter (fragments, never client data).
void AppendDeviceConditions(const DeviceFilter& filter, SqlBuilder& sql) {
  namespace q = pg::sql;
  if (filter.product_uid) sql.Append(q::kDevicesByProduct);
  if (filter.hardware) sql.Append(q::kDevicesByHardware);
  if (filter.version) sql.Append(q::kDevicesByVersion);
  for (std::size_t i = 0; i < filter.identity.size(); ++i) sql.Append(q::kDevicesByIdentity);
  for (std::size_t i = 0; i < filter.attributes.size(); ++i) sql.Append(q::kDevicesByAttribute);
  if (filter.seen_before) sql.Append(q::kDevicesSeenBefore);
  if (filter.seen_after) sql.Append(q::kDevicesSeenAfter);
  if (filter.rollout_state) {
    sql.Append(*filter.rollout_state == kNoRolloutState ? q::kDevicesInNoRollout
                                                        : q::kDevicesInRolloutState);
  }
}

// Binds the parameters of AppendDeviceConditions' fragments, in order, after `index`.
void BindDeviceConditions(const DeviceFilter& filter, Query& query, int& index) {
  for (const auto* value : {&filter.product_uid, &filter.hardware, &filter.version}) {
    if (*value) query.BindText(++index, **value);
  }
  for (const auto* pairs : {&filter.identity, &filter.attributes}) {
    for (const auto& [key, value] : *pairs) {
      query.BindText(++index, key);
      query.BindText(++index, value);
    }
  }
  if (filter.seen_before) query.BindText(++index, *filter.seen_before);
  if (filter.seen_after) query.BindText(++index, *filter.seen_after);
  if (filter.rollout_state && *filter.rollout_state != kNoRolloutState) {
    query.BindText(++index, *filter.rollout_state);
  }
}

Expected<Device> UpsertDeviceIn(Connection& db, const DeviceProbe& probe,
                                const std::string& seen_at) {
  auto upsert = db.Prepare(pg::sql::kUpsertDevice);
  if (!upsert) return std::unexpected(std::move(upsert.error()));
  upsert->BindText(1, probe.product_uid);
  upsert->BindText(2, probe.identity);
  upsert->BindText(3, probe.attributes);
  upsert->BindText(4, probe.hardware);
  upsert->BindText(5, probe.version);
  upsert->BindText(6, seen_at);
  auto device = pg::OptionalRow(*upsert, ReadDevice);
  if (!device) return std::unexpected(std::move(device.error()));
  if (!*device) return Fail(Errc::kInternal, "no device returned");
  return std::move(**device);
}

// The report as stored, with its id.
Expected<Report> InsertReportIn(Connection& db, const Report& report) {
  auto insert = db.Prepare(pg::sql::kInsertReport);
  if (!insert) return std::unexpected(std::move(insert.error()));
  insert->BindInt(1, report.device_id);
  insert->BindText(2, report.package_uid);
  insert->BindText(3, report.status);
  insert->BindText(4, report.previous_state);
  insert->BindText(5, report.error_message);
  insert->BindText(6, report.current_log);
  insert->BindText(7, report.created_at);
  auto id = pg::ReturnedId(*insert);
  if (!id) return std::unexpected(std::move(id.error()));
  Report stored = report;
  stored.id = *id;
  return stored;
}

// Runs a statement of one device row and reads it.
Expected<std::optional<Device>> SelectDevice(Connection& db, std::string_view sql,
                                             const std::string& first, const std::string& second) {
  auto select = db.Prepare(sql);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindText(1, first);
  select->BindText(2, second);
  return pg::OptionalRow(*select, ReadDevice);
}

// Runs an UPDATE of one device by id with one text; whether the device exists.
Expected<bool> UpdateDevice(Connection& db, std::string_view sql, std::int64_t id,
                            const std::string& text) {
  auto update = db.Prepare(sql);
  if (!update) return std::unexpected(std::move(update.error()));
  update->BindInt(1, id);
  update->BindText(2, text);
  UH_TRY(update->Run());
  return update->Changes() > 0;
}

}  // namespace

Expected<Device> PostgresStore::UpsertDevice(const DeviceProbe& probe) {
  const std::string seen_at = pg::OrNow(probe.seen_at);
  return pool_->Write("recording device",
                      [&](Connection& db) { return UpsertDeviceIn(db, probe, seen_at); });
}

Expected<std::optional<Device>> PostgresStore::GetDevice(std::int64_t id) {
  return pool_->Read("reading device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto select = db.Prepare(pg::sql::kSelectDevice);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return pg::OptionalRow(*select, ReadDevice);
  });
}

Expected<std::optional<Device>> PostgresStore::FindDevice(const std::string& product_uid,
                                                          const std::string& identity) {
  return pool_->Read("finding device", [&](Connection& db) {
    return SelectDevice(db, pg::sql::kFindDevice, product_uid, identity);
  });
}

Expected<ProbeLookup> PostgresStore::LookupProbe(const std::string& product_uid,
                                                 const std::string& identity) {
  return pool_->ReadStatement("reading the probing device", [&](Connection& db) {
    return store_rows::LookupProbeIn(db, pg::sql::kLookupProbe, pg::sql::kLookupMembershipColumn,
                                     pg::sql::kLookupVersionColumn, product_uid, identity,
                                     ReadDevice);
  });
}

Expected<std::int64_t> PostgresStore::CatalogVersion() {
  return pool_->ReadStatement("reading the catalog version", [&](Connection& db) {
    return store_rows::CatalogVersionIn(db, pg::sql::kCatalogVersion);
  });
}

Expected<std::vector<Device>> PostgresStore::ListDevices(const DeviceFilter& filter) {
  const std::size_t limit = std::min(filter.limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<Device>{};
  SqlBuilder sql(pg::sql::kListDevicesHead);
  AppendDeviceConditions(filter, sql);
  sql.Append(pg::sql::kListDevicesTail);
  return pool_->Read("listing devices", [&](Connection& db) -> Expected<std::vector<Device>> {
    auto select = db.Prepare(sql.sql());
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    select->BindInt(++index, filter.after_id);
    BindDeviceConditions(filter, *select, index);
    select->BindInt(++index, pg::ToStoredCount(limit));
    return pg::AllRows(*select, ReadDevice);
  });
}

Expected<std::int64_t> PostgresStore::CountDevices(const DeviceFilter& filter) {
  SqlBuilder sql(pg::sql::kCountDevicesHead);
  AppendDeviceConditions(filter, sql);
  return pool_->Read("counting devices", [&](Connection& db) -> Expected<std::int64_t> {
    auto select = db.Prepare(sql.sql());
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    BindDeviceConditions(filter, *select, index);
    auto count = pg::OptionalRow(*select, [](const Query& row) { return row.Int(0); });
    if (!count) return std::unexpected(std::move(count.error()));
    return count->value_or(0);
  });
}

Expected<DeviceOverview> PostgresStore::GetDeviceOverview(
    const std::optional<std::string>& product_uid, const OverviewTimes& times) {
  namespace q = pg::sql;
  // Each statement binds the product last, if it has one.
  auto statement = [&](std::string_view head, std::string_view condition, std::string_view tail) {
    return SqlBuilder(head).Append(product_uid ? condition : "").Append(tail).sql();
  };
  const std::string by_version =
      statement(q::kDevicesByVersionHead, q::kOverviewWhereProduct, q::kGroupByFirstTail);
  const std::string by_hardware =
      statement(q::kDevicesByHardwareHead, q::kOverviewWhereProduct, q::kGroupByFirstTail);
  const std::string by_state =
      statement(q::kDevicesByRolloutStateHead, q::kOverviewAndProduct, q::kGroupByFirstTail);
  const std::string seen_sql = statement(q::kDevicesSeenHead, q::kOverviewWhereProduct, "");
  // One snapshot: the counts add up.
  return pool_->Read("counting devices", [&](Connection& db) -> Expected<DeviceOverview> {
    DeviceOverview overview;
    auto groups = [&](const std::string& sql, GroupCounts& out) -> Expected<void> {
      auto select = db.Prepare(sql);
      if (!select) return std::unexpected(std::move(select.error()));
      if (product_uid) select->BindText(1, *product_uid);
      auto rows = pg::AllRows(*select, [](const Query& row) {
        return std::pair<std::string, std::int64_t>(row.Text(0), row.Int(1));
      });
      if (!rows) return std::unexpected(std::move(rows.error()));
      out = std::move(*rows);
      return {};
    };
    UH_TRY(groups(by_version, overview.by_version));
    UH_TRY(groups(by_hardware, overview.by_hardware));
    UH_TRY(groups(by_state, overview.by_rollout_state));
    auto seen = db.Prepare(seen_sql);
    if (!seen) return std::unexpected(std::move(seen.error()));
    seen->BindText(1, times.hour_ago);
    seen->BindText(2, times.day_ago);
    seen->BindText(3, times.overdue_before);
    if (product_uid) seen->BindText(4, *product_uid);
    auto row = seen->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (*row) {
      overview.total = seen->Int(0);
      overview.seen_since_hour = seen->Int(1);
      overview.seen_since_day = seen->Int(2);
      overview.overdue = seen->Int(3);
    }
    std::int64_t held = 0;
    for (const auto& [state, count] : overview.by_rollout_state) held += count;
    if (overview.total > held) {
      overview.by_rollout_state.emplace_back(kNoRolloutState, overview.total - held);
      // The order of the GROUP BY: most devices first, then by name.
      std::ranges::sort(overview.by_rollout_state, [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
    }
    return overview;
  });
}

Expected<std::vector<DeviceFailure>> PostgresStore::LatestFailures(
    const std::optional<std::string>& product_uid, std::size_t limit) {
  limit = std::min(limit, pg::kMaxPageSize);
  SqlBuilder sql(pg::sql::kLatestFailuresHead);
  if (product_uid) sql.Append(pg::sql::kLatestFailuresByProduct);
  sql.Append(pg::sql::kLatestFailuresTail);
  return pool_->Read("listing failures",
                     [&](Connection& db) -> Expected<std::vector<DeviceFailure>> {
                       auto select = db.Prepare(sql.sql());
                       if (!select) return std::unexpected(std::move(select.error()));
                       int index = 0;
                       if (product_uid) select->BindText(++index, *product_uid);
                       select->BindInt(++index, pg::ToStoredCount(limit));
                       return pg::AllRows(*select, [](const Query& row) {
                         return DeviceFailure{.report = ReadReport(row),
                                              .product_uid = row.Text(8),
                                              .identity = row.Text(9),
                                              .hardware = row.Text(10),
                                              .version = row.Text(11)};
                       });
                     });
}

Expected<void> PostgresStore::TouchDevices(const std::vector<DeviceSeen>& seen) {
  if (seen.empty()) return {};
  // One statement for the whole batch: a flush of many probes is one round trip.
  std::vector<std::int64_t> ids;
  std::vector<std::string> times;
  ids.reserve(seen.size());
  times.reserve(seen.size());
  for (const DeviceSeen& device : seen) {
    ids.push_back(device.id);
    times.push_back(device.seen_at);
  }
  const std::string id_array = pg::IdArray(ids);
  const std::string time_array = TextArray(times);
  return pool_->Write("recording last seen", [&](Connection& db) -> Expected<void> {
    auto update = db.Prepare(pg::sql::kTouchDevices);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, id_array);
    update->BindText(2, time_array);
    return update->Run();
  });
}

Expected<std::optional<Device>> PostgresStore::CreateDevice(const DeviceProbe& probe,
                                                            const std::string& auth_state,
                                                            const std::string& token_hash) {
  const std::string seen_at = pg::OrNow(probe.seen_at);
  return pool_->Write("creating device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto insert = db.Prepare(pg::sql::kCreateDevice);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, probe.product_uid);
    insert->BindText(2, probe.identity);
    insert->BindText(3, probe.attributes);
    insert->BindText(4, probe.hardware);
    insert->BindText(5, probe.version);
    insert->BindText(6, seen_at);
    insert->BindText(7, auth_state);
    insert->BindText(8, token_hash);
    return pg::OptionalRow(*insert, ReadDevice);  // no row: the identity was taken
  });
}

Expected<bool> PostgresStore::SetDeviceAuthState(std::int64_t id, const std::string& auth_state) {
  return pool_->Write("setting device state", [&](Connection& db) {
    return UpdateDevice(db, pg::sql::kSetDeviceAuthState, id, auth_state);
  });
}

Expected<bool> PostgresStore::SetDeviceSecretHash(std::int64_t id, const std::string& token_hash) {
  return pool_->Write("setting device secret", [&](Connection& db) {
    return UpdateDevice(db, pg::sql::kSetDeviceSecretHash, id, token_hash);
  });
}

Expected<std::optional<Device>> PostgresStore::FindDeviceBySecretHash(
    const std::string& product_uid, const std::string& token_hash) {
  return pool_->Read("finding device", [&](Connection& db) {
    return SelectDevice(db, pg::sql::kFindDeviceBySecretHash, product_uid, token_hash);
  });
}

Expected<Report> PostgresStore::InsertReport(const Report& report) {
  Report stored = report;
  stored.created_at = pg::OrNow(report.created_at);
  return pool_->Write("recording report",
                      [&](Connection& db) { return InsertReportIn(db, stored); });
}

Expected<Store::RecordedReport> PostgresStore::RecordReport(const DeviceProbe& probe,
                                                            const Report& report) {
  const std::string seen_at = pg::OrNow(probe.seen_at);
  Report pending = report;
  pending.created_at = pg::OrNow(report.created_at);
  // Built anew by each attempt: a retried transaction starts from the probe again.
  return pool_->Write("recording report", [&](Connection& db) -> Expected<RecordedReport> {
    auto device = UpsertDeviceIn(db, probe, seen_at);
    if (!device) return std::unexpected(std::move(device.error()));
    Report of_device = pending;
    of_device.device_id = device->id;
    auto stored = InsertReportIn(db, of_device);
    if (!stored) return std::unexpected(std::move(stored.error()));
    return RecordedReport{.device = std::move(*device), .report = std::move(*stored)};
  });
}

Expected<std::vector<Report>> PostgresStore::FindReports(const ReportFilter& filter) {
  const std::size_t limit = std::min(filter.limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<Report>{};
  SqlBuilder sql(pg::sql::kFindReportsHead);
  // 0 pages from the newest.
  if (filter.before_id != 0) sql.Append(pg::sql::kFindReportsBefore);
  if (filter.device_id) sql.Append(pg::sql::kFindReportsByDevice);
  if (filter.package_uid) sql.Append(pg::sql::kFindReportsByPackage);
  if (filter.status) sql.Append(pg::sql::kFindReportsByStatus);
  sql.Append(pg::sql::kFindReportsTail);
  return pool_->Read("listing reports", [&](Connection& db) -> Expected<std::vector<Report>> {
    auto select = db.Prepare(sql.sql());
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    if (filter.before_id != 0) select->BindInt(++index, filter.before_id);
    if (filter.device_id) select->BindInt(++index, *filter.device_id);
    if (filter.package_uid) select->BindText(++index, *filter.package_uid);
    if (filter.status) select->BindText(++index, *filter.status);
    select->BindInt(++index, pg::ToStoredCount(limit));
    return pg::AllRows(*select, ReadReport);
  });
}

Expected<std::vector<DeviceVersion>> PostgresStore::ListDeviceVersions(std::int64_t device_id,
                                                                       std::int64_t before_id,
                                                                       std::size_t limit) {
  limit = std::min(limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<DeviceVersion>{};
  return pool_->Read(
      "listing device versions", [&](Connection& db) -> Expected<std::vector<DeviceVersion>> {
        auto select = db.Prepare(pg::sql::kListDeviceVersions);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, device_id);
        select->BindInt(2, before_id);
        select->BindInt(3, pg::ToStoredCount(limit));
        return pg::AllRows(*select, [](const Query& row) {
          return DeviceVersion{.id = row.Int(0), .version = row.Text(1), .since = row.Text(2)};
        });
      });
}

Expected<std::vector<DeviceRollout>> PostgresStore::ListDeviceRollouts(
    std::int64_t device_id, std::int64_t before_rollout_id, std::size_t limit) {
  limit = std::min(limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<DeviceRollout>{};
  return pool_->Read(
      "listing device rollouts", [&](Connection& db) -> Expected<std::vector<DeviceRollout>> {
        auto select = db.Prepare(pg::sql::kListDeviceRollouts);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, device_id);
        select->BindInt(2, before_rollout_id);
        select->BindInt(3, pg::ToStoredCount(limit));
        return pg::AllCheckedRows(*select, [](const Query& row) -> Expected<DeviceRollout> {
          auto place = pg::ReadRolloutDevice(row);
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

Expected<SelectionCounts> PostgresStore::CountSelection(const std::string& product_uid,
                                                        const Selection& selection) {
  namespace q = pg::sql;
  // The statement's conditions and, in the same order, the texts they bind after the product.
  SqlBuilder sql(q::kCountSelectionHead);
  std::vector<std::string> bound;
  const bool listed = !selection.device_ids.empty();
  if (listed) {
    sql.Append(q::kCountSelectionByIds);
    bound.push_back(pg::IdArray(selection.device_ids));
  } else {
    if (!selection.hardware.empty()) {
      sql.Append(q::kCountSelectionByHardware);
      bound.push_back(TextArray(selection.hardware));
    }
    if (!selection.versions.empty()) {
      sql.Append(q::kCountSelectionByVersion);
      bound.push_back(TextArray(selection.versions));
    }
    for (const auto& [condition, required] :
         {std::pair{q::kDevicesByIdentity, &selection.identity},
          std::pair{q::kDevicesByAttribute, &selection.attributes}}) {
      for (const auto& [key, wanted] : required->items()) {
        // The model admits only strings here (SelectionFromJson).
        if (!wanted.is_string()) return Fail(Errc::kInvalidArgument, "filter values are strings");
        sql.Append(condition);
        bound.push_back(key);
        bound.push_back(wanted.get<std::string>());
      }
    }
  }
  sql.Append(q::kCountSelectionTail);
  return pool_->Read("counting selected devices", [&](Connection& db) -> Expected<SelectionCounts> {
    auto select = db.Prepare(sql.sql());
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    for (std::size_t i = 0; i < bound.size(); ++i) {
      select->BindText(static_cast<int>(i) + 2, bound[i]);
    }
    auto groups = pg::AllRows(*select, [](const Query& row) {
      return SelectionGroup{.accepted = row.Int(0) != 0,
                            .hardware = row.Text(1),
                            .version = row.Text(2),
                            .held = row.Int(3) != 0,
                            .devices = row.Int(4),
                            .example_id = row.Int(5)};
    });
    if (!groups) return std::unexpected(std::move(groups.error()));
    SelectionCounts out;
    out.groups = std::move(*groups);
    if (!listed) return out;
    auto unknown = db.Prepare(q::kUnknownDeviceIds);
    if (!unknown) return std::unexpected(std::move(unknown.error()));
    unknown->BindText(1, product_uid);
    unknown->BindText(2, bound.front());
    auto ids = pg::AllRows(*unknown, [](const Query& row) { return row.Int(0); });
    if (!ids) return std::unexpected(std::move(ids.error()));
    out.unknown_ids = std::move(*ids);
    return out;
  });
}

}  // namespace uh::server
