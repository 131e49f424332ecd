#pragma once

// Small helpers shared by the PostgresStore sources (the same as the SQLite store's).

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "server/model/rollout.hpp"
#include "server/store/postgres/connection.hpp"

namespace uh::server::pg {

// Larger pages would let one request hold a reader (and memory) for too long.
inline constexpr std::size_t kMaxPageSize = 1000;

// The caller's time, or now when it left it empty.
[[nodiscard]] inline std::string OrNow(const std::string& time) {
  return time.empty() ? FormatTime(std::chrono::system_clock::now()) : time;
}

// PostgreSQL bigints are signed 64-bit.
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
template <typename Read>
[[nodiscard]] auto OptionalRow(Query& query, Read read)
    -> Expected<std::optional<std::invoke_result_t<Read, const Query&>>> {
  auto row = query.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return std::nullopt;
  return read(query);
}

// Reads every row with `read`.
template <typename Read>
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
template <typename Read>
[[nodiscard]] auto OptionalCheckedRow(Query& query, Read read)
    -> Expected<std::optional<typename std::invoke_result_t<Read, const Query&>::value_type>> {
  auto row = query.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return std::nullopt;
  auto value = read(query);
  if (!value) return std::unexpected(std::move(value.error()));
  return std::move(*value);
}

template <typename Read>
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

// Columns of UH_ROLLOUT_DEVICE_COLUMNS in queries.hpp (postgres_store_rollouts.cpp).
[[nodiscard]] Expected<RolloutDevice> ReadRolloutDevice(const Query& row);
// Ids as a PostgreSQL array literal ("{1,2,3}"), bound to a "$N::bigint[]" of a statement
// (as in "WHERE id = ANY($1::bigint[])").
[[nodiscard]] std::string IdArray(const std::vector<std::int64_t>& ids);

// Texts as a PostgreSQL array literal, bound to a "$N::text[]": every element quoted, so that
// commas, braces, quotes, backslashes, spaces and the word NULL in a value stay its text.
template <typename Texts>
[[nodiscard]] std::string TextArray(const Texts& texts) {
  std::string literal = "{";
  for (const std::string_view text : texts) {
    if (literal.size() > 1) literal += ',';
    literal += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  return literal + "}";
}

// SQL joined from fragments that write each parameter as "?": numbered "$1", "$2", ... in the
// order the fragments are added, which is the order they are bound in (a fragment left out
// leaves no gap in the numbers, which PostgreSQL would refuse).
class SqlBuilder {
 public:
  explicit SqlBuilder(std::string_view head) { Append(head); }
  SqlBuilder& Append(std::string_view fragment) {
    for (const char c : fragment) {
      if (c == '?') {
        sql_ += '$';
        sql_ += std::to_string(++parameters_);
      } else {
        sql_ += c;
      }
    }
    return *this;
  }
  [[nodiscard]] const std::string& sql() const { return sql_; }

 private:
  std::string sql_;
  int parameters_ = 0;
};

// Runs an INSERT ... RETURNING id and yields the id.
[[nodiscard]] inline Expected<std::int64_t> ReturnedId(Query& insert) {
  auto row = insert.Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return Fail(Errc::kInternal, "no id returned");
  return insert.Int(0);
}

}  // namespace uh::server::pg
