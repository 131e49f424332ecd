#pragma once

// Helpers both store backends use (sqlite/ and postgres/, each with its own Query type, which
// these templates take): page sizes, times, sizes and counts as stored, and reading rows.

#include <algorithm>
#include <chrono>
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
#include "server/store/rollout_encoding.hpp"

namespace uh::server::store_rows {

// Larger pages would let one request hold a reader (and memory) for too long.
inline constexpr std::size_t kMaxPageSize = 1000;

// The caller's time, or now when it left it empty.
[[nodiscard]] inline std::string OrNow(const std::string& time) {
  return time.empty() ? FormatTime(std::chrono::system_clock::now()) : time;
}

// Both databases' integers are signed 64-bit.
[[nodiscard]] inline Expected<std::int64_t> ToStoredSize(std::uint64_t size) {
  if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Fail(Errc::kInvalidArgument, "size " + std::to_string(size) + " is too large");
  }
  return static_cast<std::int64_t>(size);
}

// Sizes are checked on the way in; a negative one can only come from outside edits.
[[nodiscard]] inline std::uint64_t FromStoredSize(std::int64_t size) {
  return size < 0 ? 0 : static_cast<std::uint64_t>(size);
}

// Row counts and limits as bound parameters.
[[nodiscard]] inline std::int64_t ToStoredCount(std::size_t count) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(count > kMax ? kMax : count);
}

// Reads at most one row with `read`.
template <typename Query, typename Read>
[[nodiscard]] auto OptionalRow(Query& query, Read read)
    -> Expected<std::optional<std::invoke_result_t<Read, const Query&>>> {
  auto row = query.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return std::nullopt;
  return read(query);
}

// Reads every row with `read`.
template <typename Query, typename Read>
[[nodiscard]] auto AllRows(Query& query, Read read)
    -> Expected<std::vector<std::invoke_result_t<Read, const Query&>>> {
  std::vector<std::invoke_result_t<Read, const Query&>> rows;
  while (true) {
    auto row = query.Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return rows;
    rows.push_back(read(query));
  }
}

// Like OptionalRow and AllRows, for a `read` that can fail (it returns an Expected).
template <typename Query, typename Read>
[[nodiscard]] auto OptionalCheckedRow(Query& query, Read read)
    -> Expected<std::optional<typename std::invoke_result_t<Read, const Query&>::value_type>> {
  auto row = query.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return std::nullopt;
  auto value = read(query);
  if (!value) return std::unexpected(std::move(value.error()));
  return std::move(*value);
}

template <typename Query, typename Read>
[[nodiscard]] auto AllCheckedRows(Query& query, Read read)
    -> Expected<std::vector<typename std::invoke_result_t<Read, const Query&>::value_type>> {
  std::vector<typename std::invoke_result_t<Read, const Query&>::value_type> rows;
  while (true) {
    auto row = query.Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return rows;
    auto value = read(query);
    if (!value) return std::unexpected(std::move(value.error()));
    rows.push_back(std::move(*value));
  }
}

// A rollout device from column `first` on: rollout_id, device_id, stage, state, error_message,
// started_at, updated_at, retries (each backend's rollout device columns).
template <typename Query>
[[nodiscard]] Expected<RolloutDevice> ReadRolloutDeviceAt(const Query& row, int first) {
  RolloutDevice device;
  device.rollout_id = row.Int(first);
  device.device_id = row.Int(first + 1);
  const std::int64_t stage = row.Int(first + 2);
  if (stage < 0 || stage > std::numeric_limits<int>::max()) {
    return Fail(Errc::kInternal, "rollout " + std::to_string(device.rollout_id) + ", device " +
                                     std::to_string(device.device_id) + ": the stored stage " +
                                     std::to_string(stage) + " is damaged");
  }
  device.stage = static_cast<int>(stage);
  UH_TRY(DecodeDeviceState(row.Text(first + 3), device));
  device.error_message = row.Text(first + 4);
  device.started_at = row.Text(first + 5);
  device.updated_at = row.Text(first + 6);
  device.retries = static_cast<int>(std::clamp<std::int64_t>(row.Int(first + 7), 0, 1'000'000));
  return device;
}

}  // namespace uh::server::store_rows
