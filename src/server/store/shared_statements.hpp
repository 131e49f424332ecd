#pragma once

// Store methods both backends run the same way, statement for statement, differing only in
// their SQL and their connection type (sqlite::Connection, pg::Connection), which these
// templates take; each backend's method passes its own statement and runs it in its pool.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "server/store/row_helpers.hpp"
#include "server/store/store.hpp"

namespace uh::server::store_rows {

// Store::LookupProbe: `sql` binds product and identity and returns one row, the device's
// columns first (read by `read_device`, NULL when there is no such device), its membership's
// from `membership_column` (NULL when none), the catalog version at `version_column`.
template <typename Connection, typename ReadDevice>
[[nodiscard]] Expected<ProbeLookup> LookupProbeIn(Connection& db, std::string_view sql,
                                                  int membership_column, int version_column,
                                                  const std::string& product_uid,
                                                  const std::string& identity,
                                                  ReadDevice read_device) {
  auto select = db.Prepare(sql);
  if (!select) return std::unexpected(std::move(select.error()));
  select->BindText(1, product_uid);
  select->BindText(2, identity);
  auto row = select->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInternal, "the catalog version is missing");
  ProbeLookup lookup;
  lookup.catalog_version = select->Int(version_column);
  if (!select->IsNull(0)) lookup.device = read_device(*select);
  if (!select->IsNull(membership_column)) {
    auto membership = ReadRolloutDeviceAt(*select, membership_column);
    if (!membership) return std::unexpected(std::move(membership.error()));
    lookup.membership = std::move(*membership);
  }
  return lookup;
}

// Store::CatalogVersion: `sql` returns the one row of catalog_version.
template <typename Connection>
[[nodiscard]] Expected<std::int64_t> CatalogVersionIn(Connection& db, std::string_view sql) {
  auto select = db.Prepare(sql);
  if (!select) return std::unexpected(std::move(select.error()));
  auto row = select->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInternal, "the catalog version is missing");
  return select->Int(0);
}

// Store::HoldLease: `sql` binds name, holder and duration, and returns a row when the holder
// holds the lease now.
template <typename Connection>
[[nodiscard]] Expected<bool> HoldLeaseIn(Connection& db, std::string_view sql,
                                         const std::string& name, const std::string& holder,
                                         std::int64_t duration_ms) {
  auto hold = db.Prepare(sql);
  if (!hold) return std::unexpected(std::move(hold.error()));
  hold->BindText(1, name);
  hold->BindText(2, holder);
  hold->BindInt(3, duration_ms);
  auto row = hold->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  const bool held = *row;
  if (held) UH_TRY(hold->Run());  // the rest of the statement
  return held;
}

// Store::ReleaseLease: `sql` binds name and holder.
template <typename Connection>
[[nodiscard]] Expected<void> ReleaseLeaseIn(Connection& db, std::string_view sql,
                                            const std::string& name, const std::string& holder) {
  auto release = db.Prepare(sql);
  if (!release) return std::unexpected(std::move(release.error()));
  release->BindText(1, name);
  release->BindText(2, holder);
  return release->Run();
}

}  // namespace uh::server::store_rows
