// SqliteStore: devices and reports.

#include <algorithm>
#include <string>
#include <vector>

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

// Columns of the device statements (UH_DEVICE_COLUMNS in queries.hpp).
Device ReadDevice(const Query& row) {
  Device device;
  device.id = row.Int(0);
  device.product_uid = row.Text(1);
  device.identity = row.Text(2);
  device.attributes = row.Text(3);
  device.hardware = row.Text(4);
  device.version = row.Text(5);
  device.last_seen = row.Text(6);
  device.created_at = row.Text(7);
  device.auth_state = row.Text(8);
  device.token_hash = row.Text(9);
  return device;
}

Report ReadReport(const Query& row) {
  Report report;
  report.id = row.Int(0);
  report.device_id = row.Int(1);
  report.package_uid = row.Text(2);
  report.status = row.Text(3);
  report.previous_state = row.Text(4);
  report.error_message = row.Text(5);
  report.current_log = row.Text(6);
  report.created_at = row.Text(7);
  return report;
}

// The conditions of a DeviceFilter, as fragments of queries.hpp (never client data).
void AppendDeviceConditions(const DeviceFilter& filter, std::string& sql) {
  namespace q = sqlite::sql;
  if (filter.product_uid) sql += q::kListDevicesByProduct;
  if (filter.hardware) sql += q::kListDevicesByHardware;
  if (filter.version) sql += q::kListDevicesByVersion;
  for (std::size_t i = 0; i < filter.identity.size(); ++i) sql += q::kListDevicesByIdentity;
  for (std::size_t i = 0; i < filter.attributes.size(); ++i) sql += q::kListDevicesByAttribute;
  if (filter.seen_before) sql += q::kListDevicesSeenBefore;
  if (filter.seen_after) sql += q::kListDevicesSeenAfter;
  if (filter.rollout_state) {
    sql += *filter.rollout_state == kNoRolloutState ? q::kListDevicesInNoRollout
                                                    : q::kListDevicesInRolloutState;
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
  auto upsert = db.Prepare(sqlite::sql::kUpsertDevice);
  if (!upsert) return std::unexpected(std::move(upsert.error()));
  upsert->BindText(1, probe.product_uid);
  upsert->BindText(2, probe.identity);
  upsert->BindText(3, probe.attributes);
  upsert->BindText(4, probe.hardware);
  upsert->BindText(5, probe.version);
  upsert->BindText(6, seen_at);
  auto device = sqlite::OptionalRow(*upsert, ReadDevice);
  if (!device) return std::unexpected(std::move(device.error()));
  if (!*device) return Fail(Errc::kInternal, "no device returned");
  UH_TRY(upsert->Run());
  return std::move(**device);
}

// Sets report.id.
Expected<void> InsertReportIn(Connection& db, Report& report) {
  auto insert = db.Prepare(sqlite::sql::kInsertReport);
  if (!insert) return std::unexpected(std::move(insert.error()));
  insert->BindInt(1, report.device_id);
  insert->BindText(2, report.package_uid);
  insert->BindText(3, report.status);
  insert->BindText(4, report.previous_state);
  insert->BindText(5, report.error_message);
  insert->BindText(6, report.current_log);
  insert->BindText(7, report.created_at);
  auto id = sqlite::ReturnedId(*insert);
  if (!id) return std::unexpected(std::move(id.error()));
  report.id = *id;
  return {};
}

}  // namespace

Expected<Device> SqliteStore::UpsertDevice(const DeviceProbe& probe) {
  const std::string seen_at = sqlite::OrNow(probe.seen_at);
  return pool_->Write("recording device",
                      [&](Connection& db) { return UpsertDeviceIn(db, probe, seen_at); });
}

Expected<std::optional<Device>> SqliteStore::GetDevice(std::int64_t id) {
  return pool_->Read("reading device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto select = db.Prepare(sqlite::sql::kSelectDevice);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return sqlite::OptionalRow(*select, ReadDevice);
  });
}

Expected<std::optional<Device>> SqliteStore::FindDevice(const std::string& product_uid,
                                                        const std::string& identity) {
  return pool_->Read("finding device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto select = db.Prepare(sqlite::sql::kFindDevice);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    select->BindText(2, identity);
    return sqlite::OptionalRow(*select, ReadDevice);
  });
}

Expected<ProbeLookup> SqliteStore::LookupProbe(const std::string& product_uid,
                                               const std::string& identity) {
  return pool_->Read("reading the probing device", [&](Connection& db) {
    return store_rows::LookupProbeIn(
        db, sqlite::sql::kLookupProbe, sqlite::sql::kLookupMembershipColumn,
        sqlite::sql::kLookupVersionColumn, product_uid, identity, ReadDevice);
  });
}

Expected<std::int64_t> SqliteStore::CatalogVersion() {
  return pool_->Read("reading the catalog version", [&](Connection& db) {
    return store_rows::CatalogVersionIn(db, sqlite::sql::kCatalogVersion);
  });
}

Expected<std::vector<Device>> SqliteStore::ListDevices(const DeviceFilter& filter) {
  const std::size_t limit = std::min(filter.limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<Device>{};
  std::string sql(sqlite::sql::kListDevicesHead);
  AppendDeviceConditions(filter, sql);
  sql += sqlite::sql::kListDevicesTail;
  return pool_->Read("listing devices", [&](Connection& db) -> Expected<std::vector<Device>> {
    auto select = db.Prepare(sql);
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    select->BindInt(++index, filter.after_id);
    BindDeviceConditions(filter, *select, index);
    select->BindInt(++index, sqlite::ToStoredCount(limit));
    return sqlite::AllRows(*select, ReadDevice);
  });
}

Expected<std::int64_t> SqliteStore::CountDevices(const DeviceFilter& filter) {
  std::string sql(sqlite::sql::kCountDevicesHead);
  AppendDeviceConditions(filter, sql);
  return pool_->Read("counting devices", [&](Connection& db) -> Expected<std::int64_t> {
    auto select = db.Prepare(sql);
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    BindDeviceConditions(filter, *select, index);
    auto count = sqlite::OptionalRow(*select, [](const Query& row) { return row.Int(0); });
    if (!count) return std::unexpected(std::move(count.error()));
    return count->value_or(0);
  });
}

Expected<DeviceOverview> SqliteStore::GetDeviceOverview(
    const std::optional<std::string>& product_uid, const OverviewTimes& times) {
  namespace sql = sqlite::sql;
  const std::string_view where = product_uid ? sql::kWhereProduct : std::string_view();
  const std::string_view also = product_uid ? sql::kAndProduct : std::string_view();
  auto statement = [](std::string_view head, std::string_view condition, std::string_view tail) {
    return std::string(head) + std::string(condition) + std::string(tail);
  };
  return pool_->Read("counting devices", [&](Connection& db) -> Expected<DeviceOverview> {
    DeviceOverview overview;
    auto groups = [&](const std::string& text, GroupCounts& out) -> Expected<void> {
      auto select = db.Prepare(text);
      if (!select) return std::unexpected(std::move(select.error()));
      if (product_uid) select->BindText(1, *product_uid);
      auto rows = sqlite::AllRows(*select, [](const Query& row) {
        return std::pair<std::string, std::int64_t>(row.Text(0), row.Int(1));
      });
      if (!rows) return std::unexpected(std::move(rows.error()));
      out = std::move(*rows);
      return {};
    };
    UH_TRY(groups(statement(sql::kDevicesByVersionHead, where, sql::kGroupByFirstTail),
                  overview.by_version));
    UH_TRY(groups(statement(sql::kDevicesByHardwareHead, where, sql::kGroupByFirstTail),
                  overview.by_hardware));
    UH_TRY(groups(statement(sql::kDevicesByRolloutStateHead, also, sql::kGroupByFirstTail),
                  overview.by_rollout_state));
    auto seen = db.Prepare(statement(sql::kDevicesSeenHead, where, ""));
    if (!seen) return std::unexpected(std::move(seen.error()));
    if (product_uid) seen->BindText(1, *product_uid);
    seen->BindText(2, times.hour_ago);
    seen->BindText(3, times.day_ago);
    seen->BindText(4, times.overdue_before);
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

Expected<std::vector<DeviceFailure>> SqliteStore::LatestFailures(
    const std::optional<std::string>& product_uid, std::size_t limit) {
  limit = std::min(limit, sqlite::kMaxPageSize);
  std::string sql(sqlite::sql::kLatestFailuresHead);
  if (product_uid) sql += sqlite::sql::kLatestFailuresByProduct;
  sql += sqlite::sql::kLatestFailuresTail;
  return pool_->Read("listing failures",
                     [&](Connection& db) -> Expected<std::vector<DeviceFailure>> {
                       auto select = db.Prepare(sql);
                       if (!select) return std::unexpected(std::move(select.error()));
                       if (product_uid) select->BindText(1, *product_uid);
                       select->BindInt(2, sqlite::ToStoredCount(limit));
                       return sqlite::AllRows(*select, [](const Query& row) {
                         return DeviceFailure{.report = ReadReport(row),
                                              .product_uid = row.Text(8),
                                              .identity = row.Text(9),
                                              .hardware = row.Text(10),
                                              .version = row.Text(11)};
                       });
                     });
}

Expected<void> SqliteStore::TouchDevices(const std::vector<DeviceSeen>& seen) {
  if (seen.empty()) return {};
  return pool_->Write("recording last seen", [&](Connection& db) -> Expected<void> {
    for (const DeviceSeen& device : seen) {
      auto update = db.Prepare(sqlite::sql::kTouchDevice);
      if (!update) return std::unexpected(std::move(update.error()));
      update->BindInt(1, device.id);
      update->BindText(2, device.seen_at);
      UH_TRY(update->Run());
    }
    return {};
  });
}

Expected<bool> SqliteStore::SetProductDeviceAuth(const std::string& uid,
                                                 const std::string& device_auth,
                                                 const std::string& enrolment,
                                                 const std::string& client_ca) {
  return pool_->Write("setting device authentication", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetProductDeviceAuth);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, device_auth);
    update->BindText(3, enrolment);
    update->BindText(4, client_ca);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<std::optional<Device>> SqliteStore::CreateDevice(const DeviceProbe& probe,
                                                          const std::string& auth_state,
                                                          const std::string& token_hash) {
  const std::string seen_at = sqlite::OrNow(probe.seen_at);
  return pool_->Write("creating device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto insert = db.Prepare(sqlite::sql::kCreateDevice);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, probe.product_uid);
    insert->BindText(2, probe.identity);
    insert->BindText(3, probe.attributes);
    insert->BindText(4, probe.hardware);
    insert->BindText(5, probe.version);
    insert->BindText(6, seen_at);
    insert->BindText(7, auth_state);
    insert->BindText(8, token_hash);
    auto device = sqlite::OptionalRow(*insert, ReadDevice);
    if (!device) return std::unexpected(std::move(device.error()));
    if (*device) UH_TRY(insert->Run());  // stepping a finished statement would run it again
    return device;
  });
}

Expected<bool> SqliteStore::SetDeviceAuthState(std::int64_t id, const std::string& auth_state) {
  return pool_->Write("setting device state", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetDeviceAuthState);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, auth_state);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<bool> SqliteStore::SetDeviceSecretHash(std::int64_t id, const std::string& token_hash) {
  return pool_->Write("setting device secret", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetDeviceSecretHash);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, token_hash);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<std::optional<Device>> SqliteStore::FindDeviceBySecretHash(const std::string& product_uid,
                                                                    const std::string& token_hash) {
  return pool_->Read("finding device", [&](Connection& db) -> Expected<std::optional<Device>> {
    auto select = db.Prepare(sqlite::sql::kFindDeviceBySecretHash);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    select->BindText(2, token_hash);
    return sqlite::OptionalRow(*select, ReadDevice);
  });
}

Expected<Report> SqliteStore::InsertReport(const Report& report) {
  Report stored = report;
  stored.created_at = sqlite::OrNow(report.created_at);
  return pool_->Write("recording report", [&](Connection& db) -> Expected<Report> {
    UH_TRY(InsertReportIn(db, stored));
    return stored;
  });
}

Expected<Store::RecordedReport> SqliteStore::RecordReport(const DeviceProbe& probe,
                                                          const Report& report) {
  const std::string seen_at = sqlite::OrNow(probe.seen_at);
  RecordedReport recorded;
  recorded.report = report;
  recorded.report.created_at = sqlite::OrNow(report.created_at);
  return pool_->Write("recording report", [&](Connection& db) -> Expected<RecordedReport> {
    auto device = UpsertDeviceIn(db, probe, seen_at);
    if (!device) return std::unexpected(std::move(device.error()));
    recorded.device = std::move(*device);
    recorded.report.device_id = recorded.device.id;
    UH_TRY(InsertReportIn(db, recorded.report));
    return recorded;
  });
}

Expected<std::vector<Report>> SqliteStore::FindReports(const ReportFilter& filter) {
  const std::size_t limit = std::min(filter.limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<Report>{};
  std::string sql(sqlite::sql::kFindReportsHead);
  if (filter.device_id) sql += sqlite::sql::kFindReportsByDevice;
  if (filter.package_uid) sql += sqlite::sql::kFindReportsByPackage;
  if (filter.status) sql += sqlite::sql::kFindReportsByStatus;
  sql += sqlite::sql::kFindReportsTail;
  return pool_->Read("listing reports", [&](Connection& db) -> Expected<std::vector<Report>> {
    auto select = db.Prepare(sql);
    if (!select) return std::unexpected(std::move(select.error()));
    int index = 0;
    select->BindInt(++index, filter.before_id);
    if (filter.device_id) select->BindInt(++index, *filter.device_id);
    if (filter.package_uid) select->BindText(++index, *filter.package_uid);
    if (filter.status) select->BindText(++index, *filter.status);
    select->BindInt(++index, sqlite::ToStoredCount(limit));
    return sqlite::AllRows(*select, ReadReport);
  });
}

}  // namespace uh::server
