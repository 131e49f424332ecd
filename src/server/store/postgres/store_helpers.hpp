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
#include "server/store/row_helpers.hpp"

namespace uh::server::pg {

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
