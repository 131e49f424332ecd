// SqliteStore: how a rollout's selection matches a product's devices, counted by the database
// (a preview of a fleet of any size reads a few groups, not the devices).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

Expected<SelectionCounts> SqliteStore::CountSelection(const std::string& product_uid,
                                                      const Selection& selection) {
  namespace q = sqlite::sql;
  // The statement's conditions and, in the same order, the texts they bind after ?1.
  std::string sql(q::kCountSelectionHead);
  std::vector<std::string> bound;
  const bool listed = !selection.device_ids.empty();
  if (listed) {
    sql += q::kCountSelectionByIds;
    bound.push_back(sqlite::IdArray(selection.device_ids));
  } else {
    if (!selection.hardware.empty()) {
      sql += q::kCountSelectionByHardware;
      bound.push_back(nlohmann::json(selection.hardware).dump());
    }
    if (!selection.versions.empty()) {
      sql += q::kCountSelectionByVersion;
      bound.push_back(nlohmann::json(selection.versions).dump());
    }
    for (const auto& [condition, required] :
         {std::pair{q::kCountSelectionByIdentity, &selection.identity},
          std::pair{q::kCountSelectionByAttribute, &selection.attributes}}) {
      for (const auto& [key, wanted] : required->items()) {
        // The model admits only strings here (SelectionFromJson).
        if (!wanted.is_string()) return Fail(Errc::kInvalidArgument, "filter values are strings");
        sql += condition;
        bound.push_back(key);
        bound.push_back(wanted.get<std::string>());
      }
    }
  }
  sql += q::kCountSelectionTail;
  return pool_->Read("counting selected devices", [&](Connection& db) -> Expected<SelectionCounts> {
    SelectionCounts out;
    auto select = db.Prepare(sql);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    for (std::size_t i = 0; i < bound.size(); ++i) {
      select->BindText(static_cast<int>(i) + 2, bound[i]);
    }
    auto groups = sqlite::AllRows(*select, [](const Query& row) {
      return SelectionGroup{.accepted = row.Int(0) != 0,
                            .hardware = row.Text(1),
                            .version = row.Text(2),
                            .held = row.Int(3) != 0,
                            .devices = row.Int(4),
                            .example_id = row.Int(5)};
    });
    if (!groups) return std::unexpected(std::move(groups.error()));
    out.groups = std::move(*groups);
    if (!listed) return out;
    auto unknown = db.Prepare(q::kUnknownDeviceIds);
    if (!unknown) return std::unexpected(std::move(unknown.error()));
    unknown->BindText(1, product_uid);
    unknown->BindText(2, bound.front());
    auto ids = sqlite::AllRows(*unknown, [](const Query& row) { return row.Int(0); });
    if (!ids) return std::unexpected(std::move(ids.error()));
    out.unknown_ids = std::move(*ids);
    return out;
  });
}

}  // namespace uh::server
