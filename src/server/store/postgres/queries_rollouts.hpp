#pragma once

// The SQL of the PostgreSQL store's rollouts and their devices (postgres_store_rollouts.cpp).
// Values are always bound parameters ("$N"); a list of ids is one "$N::bigint[]" array
// (IdArray). Each statement is the SQLite store's of the same name (sqlite/queries.hpp), with
// PostgreSQL's spelling. Times are RFC 3339 UTC text in one fixed format: compared in the
// database's collation, which orders such times as bytes do, so that the indexes on them (of
// that collation) serve the comparisons; only an order that reaches the caller is spelled
// byte-wise (COLLATE "C"), as SQLite orders it.

#include <string_view>

namespace uh::server::pg::sql {

// Archived rollouts (IsArchived in the model; 'archived' is kept from before the rollout
// engine) no longer hold their devices.
#define UH_PG_ARCHIVED_ROLLOUT_STATES "('finished', 'stopped', 'archived')"

// Rollouts, oldest first. selection and plan are JSON text (rollout_encoding.hpp).
#define UH_PG_ROLLOUT_COLUMNS                                                               \
  "id, product_uid, package_uid, name, state, selection, plan, start_at, current_stage,"    \
  " stage_succeeded_at, reason, created_at, started_at, finished_at, paused_by, paused_at," \
  " revision"
inline constexpr std::string_view kInsertRollout =
    "INSERT INTO rollouts (product_uid, package_uid, name, state, selection, plan, start_at,"
    " current_stage, stage_succeeded_at, reason, created_at, started_at, finished_at,"
    " paused_by, paused_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";
inline constexpr std::string_view kSelectRollout =
    "SELECT " UH_PG_ROLLOUT_COLUMNS " FROM rollouts WHERE id = $1";
// $1 (or $2) is 1: archived ones too.
inline constexpr std::string_view kListAllRollouts =
    "SELECT " UH_PG_ROLLOUT_COLUMNS
    " FROM rollouts"
    " WHERE $1::bigint <> 0 OR state NOT IN " UH_PG_ARCHIVED_ROLLOUT_STATES " ORDER BY id";
inline constexpr std::string_view kListProductRollouts =
    "SELECT " UH_PG_ROLLOUT_COLUMNS
    " FROM rollouts"
    " WHERE product_uid = $1"
    " AND ($2::bigint <> 0 OR state NOT IN " UH_PG_ARCHIVED_ROLLOUT_STATES ") ORDER BY id";
inline constexpr std::string_view kRolloutProductExists = "SELECT 1 FROM products WHERE uid = $1";
// (product_uid, whether archived) of a rollout.
inline constexpr std::string_view kSelectRolloutOwner =
    "SELECT product_uid, state IN " UH_PG_ARCHIVED_ROLLOUT_STATES " FROM rollouts WHERE id = $1";
// Every change moves the revision on; the second form saves only over revision $11.
#define UH_PG_UPDATE_ROLLOUT                                                                  \
  "UPDATE rollouts SET state = $2, current_stage = $3, stage_succeeded_at = $4, reason = $5," \
  " plan = $6, started_at = $7, finished_at = $8, paused_by = $9, paused_at = $10,"           \
  " revision = revision + 1 WHERE id = $1"
inline constexpr std::string_view kUpdateRollout = UH_PG_UPDATE_ROLLOUT;
inline constexpr std::string_view kUpdateRolloutIfUnchanged =
    UH_PG_UPDATE_ROLLOUT " AND revision = $11::bigint";
#undef UH_PG_UPDATE_ROLLOUT
#undef UH_PG_ROLLOUT_COLUMNS
#undef UH_PG_ARCHIVED_ROLLOUT_STATES

// Rollout devices: the columns ReadRolloutDevice reads, in its order.
#define UH_PG_ROLLOUT_DEVICE_COLUMNS \
  "rollout_id, device_id, stage, state, error_message, started_at, updated_at, retries"
// Many members in one statement: $1 the product, then one array per column, element i of each
// making member i. A device already active in a rollout of the product (the partial unique
// index rollout_devices_one_active) or already in this rollout (the primary key) is skipped,
// not an error. Rows go in in array order, which the caller makes device id order.
inline constexpr std::string_view kInsertRolloutDevices =
    "INSERT INTO rollout_devices (rollout_id, device_id, product_uid, stage, state,"
    " error_message, started_at, updated_at, retries, active)"
    " SELECT m.rollout_id, m.device_id, $1::text, m.stage, m.state, m.error_message,"
    " m.started_at, m.updated_at, m.retries, 1"
    " FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::bigint[]) WITH ORDINALITY"
    " AS m(rollout_id, device_id, stage, state, error_message, started_at, updated_at, retries, n)"
    " ORDER BY m.n ON CONFLICT DO NOTHING";
inline constexpr std::string_view kReleaseRolloutDevices =
    "UPDATE rollout_devices SET active = 0 WHERE rollout_id = $1 AND active = 1";
// The membership in a rollout of the device's own product.
inline constexpr std::string_view kFindRolloutDevice =
    "SELECT " UH_PG_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE device_id = $1 AND active = 1"
    " AND product_uid = (SELECT product_uid FROM devices WHERE id = $1)";
inline constexpr std::string_view kUpdateRolloutDevice =
    "UPDATE rollout_devices SET state = $3, error_message = $4, started_at = $5, updated_at = $6"
    " WHERE rollout_id = $1 AND device_id = $2";
// Kept by triggers on rollout_devices (migration 0004): no counting at read time.
inline constexpr std::string_view kRolloutStats =
    "SELECT stage, state, devices FROM rollout_counts WHERE rollout_id = $1 AND devices > 0";
// The same for several rollouts in one query (rollout lists).
inline constexpr std::string_view kRolloutStatsOf =
    "SELECT rollout_id, stage, state, devices FROM rollout_counts"
    " WHERE rollout_id = ANY($1::bigint[]) AND devices > 0";
// The first offer to a device (StartRolloutDevice): $3 the time.
inline constexpr std::string_view kStartRolloutDevice =
    "UPDATE rollout_devices SET started_at = $3, updated_at = $3"
    " WHERE rollout_id = $1 AND device_id = $2 AND started_at = ''";
inline constexpr std::string_view kRolloutDeviceStarted =
    "SELECT started_at <> '' FROM rollout_devices WHERE rollout_id = $1 AND device_id = $2";
inline constexpr std::string_view kCountStartedSince =
    "SELECT COUNT(*) FROM rollout_devices WHERE rollout_id = $1"
    " AND started_at >= $2::text AND started_at <> ''";
// $1 the rollouts, $2 the time (rollout_devices_by_start).
inline constexpr std::string_view kCountStartedSinceOf =
    "SELECT rollout_id, COUNT(*) FROM rollout_devices"
    " WHERE rollout_id = ANY($1::bigint[]) AND started_at >= $2::text"
    " AND started_at <> '' GROUP BY rollout_id";
// The places in rollout $1 of the devices $2.
inline constexpr std::string_view kSelectRolloutDevicesById =
    "SELECT " UH_PG_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE rollout_id = $1 AND device_id = ANY($2::bigint[])"
    " ORDER BY device_id";
// A retry: failed devices of an active rollout go back to pending, not offered yet (so the
// rate limit and the window apply again), their error cleared. $1 rollout, $2 now, and for
// the Listed variant $3 the devices.
#define UH_PG_RETRY_ROLLOUT_DEVICES                                                    \
  "UPDATE rollout_devices SET state = 'pending', error_message = '', started_at = ''," \
  " updated_at = $2, retries = retries + 1"                                            \
  " WHERE rollout_id = $1 AND active = 1 AND state = 'failed'"
inline constexpr std::string_view kRetryRolloutDevices =
    UH_PG_RETRY_ROLLOUT_DEVICES " RETURNING device_id";
inline constexpr std::string_view kRetryListedRolloutDevices =
    UH_PG_RETRY_ROLLOUT_DEVICES " AND device_id = ANY($3::bigint[]) RETURNING device_id";
#undef UH_PG_RETRY_ROLLOUT_DEVICES
// Of the product's devices $2, those a non-archived rollout holds (the partial index
// rollout_devices_one_active).
inline constexpr std::string_view kHeldDevices =
    "SELECT device_id FROM rollout_devices"
    " WHERE device_id = ANY($2::bigint[]) AND product_uid = $1 AND active = 1"
    " ORDER BY device_id";
// $1 rollout, $2 after device id, $3 limit, $4 state ('' for any).
inline constexpr std::string_view kListRolloutDevices =
    "SELECT " UH_PG_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE rollout_id = $1 AND device_id > $2 AND ($4::text = '' OR state = $4::text)"
    " ORDER BY device_id LIMIT $3";
// $1 rollout, $2 after device id, $3 limit, $4 state (only the ByState variant).
#define UH_PG_ROLLOUT_MEMBERS                                                                \
  "SELECT rd.rollout_id, rd.device_id, rd.stage, rd.state, rd.error_message, rd.started_at," \
  " rd.updated_at, rd.retries, d.identity, d.hardware, d.version, d.last_seen"               \
  " FROM rollout_devices AS rd JOIN devices AS d ON d.id = rd.device_id"                     \
  " WHERE rd.rollout_id = $1 AND rd.device_id > $2"
inline constexpr std::string_view kListRolloutMembers =
    UH_PG_ROLLOUT_MEMBERS " ORDER BY rd.device_id LIMIT $3";
inline constexpr std::string_view kListRolloutMembersByState =
    UH_PG_ROLLOUT_MEMBERS " AND rd.state = $4 ORDER BY rd.device_id LIMIT $3";
#undef UH_PG_ROLLOUT_MEMBERS
#undef UH_PG_ROLLOUT_DEVICE_COLUMNS

// The rollout's finished devices counted by the minute they finished (the first 16 characters
// of updated_at): the latest $2 minutes, oldest first. (minute, updated, failed) a row.
inline constexpr std::string_view kRolloutProgress =
    "SELECT minute, updated, failed FROM ("
    " SELECT substr(updated_at, 1, 16) COLLATE \"C\" AS minute,"
    " COUNT(*) FILTER (WHERE state = 'updated') AS updated,"
    " COUNT(*) FILTER (WHERE state = 'failed') AS failed"
    " FROM rollout_devices WHERE rollout_id = $1 AND state IN ('updated', 'failed')"
    " GROUP BY 1 ORDER BY 1 DESC LIMIT $2) AS latest"
    " ORDER BY minute";

// Leases (HoldLease): $1 name, $2 holder, $3 duration in ms; a row when $2 holds it now.
#define UH_PG_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
inline constexpr std::string_view kHoldLease =
    "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, " UH_PG_NOW_MS
    " + $3::bigint)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
    " expires_ms = excluded.expires_ms"
    " WHERE leases.holder = excluded.holder OR leases.expires_ms <= " UH_PG_NOW_MS
    " RETURNING holder";
#undef UH_PG_NOW_MS
inline constexpr std::string_view kReleaseLease =
    "DELETE FROM leases WHERE name = $1 AND holder = $2";

}  // namespace uh::server::pg::sql
