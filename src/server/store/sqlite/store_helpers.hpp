#pragma once

// Small helpers shared by the SqliteStore sources.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "server/model/rollout.hpp"
#include "server/store/row_helpers.hpp"
#include "server/store/sqlite/connection.hpp"

namespace uh::server::sqlite {

// The helpers both backends share (row_helpers.hpp), as this backend's own names.
using store_rows::AllCheckedRows;
using store_rows::AllRows;
using store_rows::FromStoredSize;
using store_rows::kMaxPageSize;
using store_rows::OptionalCheckedRow;
using store_rows::OptionalRow;
using store_rows::OrNow;
using store_rows::ReadRolloutDeviceAt;
using store_rows::ToStoredCount;
using store_rows::ToStoredSize;

// Columns of UH_ROLLOUT_DEVICE_COLUMNS in queries.hpp (sqlite_store_rollouts.cpp).
[[nodiscard]] Expected<RolloutDevice> ReadRolloutDevice(const Query& row);
// Ids as a JSON array, bound to the "json_each(?N)" of a statement.
[[nodiscard]] std::string IdArray(const std::vector<std::int64_t>& ids);

// Runs an INSERT ... RETURNING id and yields the id.
[[nodiscard]] inline Expected<std::int64_t> ReturnedId(Query& insert) {
  auto row = insert.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInternal, "no id returned");
  const std::int64_t id = insert.Int(0);
  UH_TRY(insert.Run());
  return id;
}

}  // namespace uh::server::sqlite
