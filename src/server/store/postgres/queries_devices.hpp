#pragma once

// The PostgreSQL store's statements about devices, reports, device search, a device's history
// and rollout selections (postgres_store_devices.cpp). Values are always bound parameters.
//
// Fixed statements number their parameters ("$1"). Statements joined at run time from the
// fragments below (the k...Head, k...By..., k...Tail constants; never client data) write "?" for
// each parameter instead, and the store numbers them in the order it joins the fragments, which
// is the order it binds them (SqlBuilder). No fragment has a "?" of any other meaning.
//
// Text is ordered byte-wise (COLLATE "C") wherever an order reaches a caller, as SQLite orders
// it, whatever collation the database was created with.

#include <string_view>

namespace uh::server::pg::sql {

// Devices. A new device's created_at is its first probe.
#define UH_PG_DEVICE_COLUMNS                                                                     \
  "id, product_uid, identity, attributes, hardware, version, last_seen, created_at, auth_state," \
  " token_hash"
inline constexpr std::string_view kUpsertDevice =
    "INSERT INTO devices (product_uid, identity, attributes, hardware, version, last_seen,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)"
    " ON CONFLICT (product_uid, identity) DO UPDATE SET attributes = excluded.attributes,"
    " hardware = excluded.hardware, version = excluded.version, last_seen = excluded.last_seen"
    " RETURNING " UH_PG_DEVICE_COLUMNS;
inline constexpr std::string_view kSelectDevice =
    "SELECT " UH_PG_DEVICE_COLUMNS " FROM devices WHERE id = $1";
inline constexpr std::string_view kFindDevice =
    "SELECT " UH_PG_DEVICE_COLUMNS " FROM devices WHERE product_uid = $1 AND identity = $2";
// LookupProbe: the device (UH_PG_DEVICE_COLUMNS' order), its membership (the rollout device
// columns' order, from column 10) and the catalog version (column 18); the row exists when the
// device does not (its columns NULL).
inline constexpr int kLookupMembershipColumn = 10;
inline constexpr int kLookupVersionColumn = 18;
inline constexpr std::string_view kLookupProbe =
    "SELECT d.id, d.product_uid, d.identity, d.attributes, d.hardware, d.version, d.last_seen,"
    " d.created_at, d.auth_state, d.token_hash,"
    " r.rollout_id, r.device_id, r.stage, r.state, r.error_message, r.started_at, r.updated_at,"
    " r.retries, v.version"
    " FROM catalog_version AS v"
    " LEFT JOIN devices AS d ON d.product_uid = $1 AND d.identity = $2"
    " LEFT JOIN rollout_devices AS r"
    " ON r.device_id = d.id AND r.product_uid = d.product_uid AND r.active = 1";
inline constexpr std::string_view kCatalogVersion = "SELECT version FROM catalog_version";
// Device authentication: an enrolled or pre-provisioned device, never replacing one.
inline constexpr std::string_view kCreateDevice =
    "INSERT INTO devices (product_uid, identity, attributes, hardware, version, last_seen,"
    " created_at, auth_state, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)"
    " ON CONFLICT (product_uid, identity) DO NOTHING RETURNING " UH_PG_DEVICE_COLUMNS;
inline constexpr std::string_view kSetDeviceAuthState =
    "UPDATE devices SET auth_state = $2 WHERE id = $1";
inline constexpr std::string_view kSetDeviceSecretHash =
    "UPDATE devices SET token_hash = $2 WHERE id = $1";
inline constexpr std::string_view kFindDeviceBySecretHash =
    "SELECT " UH_PG_DEVICE_COLUMNS
    " FROM devices WHERE product_uid = $1 AND token_hash = $2 AND token_hash <> ''";
// ListDevices: the head, the conditions of the filter, the tail; each filter can use its
// (column, id) index.
inline constexpr std::string_view kListDevicesHead =
    "SELECT " UH_PG_DEVICE_COLUMNS " FROM devices WHERE id > ?";
inline constexpr std::string_view kListDevicesTail = " ORDER BY id LIMIT ?";
#undef UH_PG_DEVICE_COLUMNS
// CountDevices: the same conditions after this head, without paging.
inline constexpr std::string_view kCountDevicesHead = "SELECT COUNT(*) FROM devices WHERE TRUE";
inline constexpr std::string_view kDevicesByProduct = " AND product_uid = ?";
inline constexpr std::string_view kDevicesByHardware = " AND hardware = ?";
inline constexpr std::string_view kDevicesByVersion = " AND version = ?";
// Bound: key, value. The key's value is the text, or a list that holds it: device_fields has a
// row for each string value (a list's elements one by one), kept by the schema's triggers, so
// this is a lookup in its (kind, key, value) index, not a reading of every device's JSON.
inline constexpr std::string_view kDevicesByIdentity =
    " AND id IN (SELECT device_id FROM device_fields WHERE kind = 0 AND key = ? AND value = ?)";
inline constexpr std::string_view kDevicesByAttribute =
    " AND id IN (SELECT device_id FROM device_fields WHERE kind = 1 AND key = ? AND value = ?)";
inline constexpr std::string_view kDevicesSeenBefore = " AND last_seen < ?";
inline constexpr std::string_view kDevicesSeenAfter = " AND last_seen >= ?";
// The few devices in one state are found from the state (rollout_devices_active_state_device),
// not by visiting every device.
inline constexpr std::string_view kDevicesInRolloutState =
    " AND (id, product_uid) IN (SELECT device_id, product_uid FROM rollout_devices"
    " WHERE active = 1 AND state = ?)";
// The membership FindRolloutDevice reads (the partial index rollout_devices_one_active).
inline constexpr std::string_view kDevicesInNoRollout =
    " AND NOT EXISTS (SELECT 1 FROM rollout_devices AS r WHERE r.device_id = devices.id"
    " AND r.active = 1 AND r.product_uid = devices.product_uid)";

// The overview: each is one GROUP BY over an index, of one product's rows when the statement
// gets kOverviewWhereProduct (kOverviewAndProduct after a WHERE), binding the product.
inline constexpr std::string_view kOverviewWhereProduct = " WHERE product_uid = ?";
inline constexpr std::string_view kOverviewAndProduct = " AND product_uid = ?";
inline constexpr std::string_view kDevicesByVersionHead =
    "SELECT version COLLATE \"C\", COUNT(*) FROM devices";
inline constexpr std::string_view kDevicesByHardwareHead =
    "SELECT hardware COLLATE \"C\", COUNT(*) FROM devices";
inline constexpr std::string_view kDevicesByRolloutStateHead =
    "SELECT state COLLATE \"C\", COUNT(*) FROM rollout_devices WHERE active = 1";
// Most devices first, then by value.
inline constexpr std::string_view kGroupByFirstTail = " GROUP BY 1 ORDER BY 2 DESC, 1";
// Bound: an hour ago, a day ago, the overdue limit (then the product, if any).
inline constexpr std::string_view kDevicesSeenHead =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE last_seen >= ?),"
    " COUNT(*) FILTER (WHERE last_seen >= ?), COUNT(*) FILTER (WHERE last_seen < ?)"
    " FROM devices";
// reports_by_status walks the errors newest first. Bound: the product, if any, then the limit.
inline constexpr std::string_view kLatestFailuresHead =
    "SELECT r.id, r.device_id, r.package_uid, r.status, r.previous_state, r.error_message,"
    " r.current_log, r.created_at, d.product_uid, d.identity, d.hardware, d.version"
    " FROM reports AS r JOIN devices AS d ON d.id = r.device_id WHERE r.status = 'error'";
inline constexpr std::string_view kLatestFailuresByProduct = " AND d.product_uid = ?";
inline constexpr std::string_view kLatestFailuresTail = " ORDER BY r.id DESC LIMIT ?";

// TouchDevices: $1 the ids, $2 the times, in the same order. RFC 3339 UTC times compare as
// text: last_seen never moves back, and a device listed twice gets the later time, as if the
// updates ran one after another.
inline constexpr std::string_view kTouchDevices =
    "UPDATE devices SET last_seen = seen.at"
    " FROM (SELECT id, MAX(at COLLATE \"C\") AS at FROM unnest($1::bigint[], $2::text[])"
    " AS listed (id, at) GROUP BY id) AS seen"
    " WHERE devices.id = seen.id AND devices.last_seen < seen.at COLLATE \"C\"";

// CountSelection: the head binds the product; each condition a list (an array literal of ids,
// hardware or versions), or a key and a value for an identity or attributes key, matched as
// Selects matches them (the key's value is the text, or a list holding it). The devices of the
// product are grouped by what decides whether a rollout takes them.
inline constexpr std::string_view kCountSelectionHead =
    "SELECT accepted, hardware, version, held, COUNT(*), MIN(id) FROM"
    " (SELECT auth_state = 'accepted' AS accepted, hardware, version,"
    " EXISTS (SELECT 1 FROM rollout_devices AS r WHERE r.device_id = devices.id AND r.active = 1"
    " AND r.product_uid = devices.product_uid) AS held, id"
    " FROM devices WHERE product_uid = ?";
inline constexpr std::string_view kCountSelectionByIds = " AND id = ANY (?::bigint[])";
inline constexpr std::string_view kCountSelectionByHardware = " AND hardware = ANY (?::text[])";
inline constexpr std::string_view kCountSelectionByVersion = " AND version = ANY (?::text[])";
inline constexpr std::string_view kCountSelectionTail =
    ") AS selected GROUP BY accepted, hardware, version, held"
    " ORDER BY accepted, hardware COLLATE \"C\", version COLLATE \"C\", held";
// $1 the product, $2 the listed ids (an array literal): those that are no device of the product.
inline constexpr std::string_view kUnknownDeviceIds =
    "SELECT DISTINCT listed.id FROM unnest($2::bigint[]) AS listed (id)"
    " WHERE NOT EXISTS (SELECT 1 FROM devices"
    " WHERE devices.id = listed.id AND devices.product_uid = $1) ORDER BY 1";

// The versions a device ran (migration 0010), newest first; $2 = 0 from the newest.
inline constexpr std::string_view kListDeviceVersions =
    "SELECT id, version, since FROM device_versions WHERE device_id = $1"
    " AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3";
// A device's rollouts, newest first (rollout_devices_by_device); the package's version is ''
// when the package was deleted since. The first columns are ReadRolloutDevice's.
inline constexpr std::string_view kListDeviceRollouts =
    "SELECT rd.rollout_id, rd.device_id, rd.stage, rd.state, rd.error_message, rd.started_at,"
    " rd.updated_at, rd.retries, r.name, r.package_uid, COALESCE(p.version, ''), r.state,"
    " rd.active"
    " FROM rollout_devices AS rd JOIN rollouts AS r ON r.id = rd.rollout_id"
    " LEFT JOIN packages AS p ON p.uid = r.package_uid"
    " WHERE rd.device_id = $1 AND ($2::bigint = 0 OR rd.rollout_id < $2::bigint)"
    " ORDER BY rd.rollout_id DESC LIMIT $3";

// Reports, newest (last inserted) first.
inline constexpr std::string_view kInsertReport =
    "INSERT INTO reports (device_id, package_uid, status, previous_state, error_message,"
    " current_log, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
// FindReports: the head, the conditions of the filter, the tail.
inline constexpr std::string_view kFindReportsHead =
    "SELECT id, device_id, package_uid, status, previous_state, error_message, current_log,"
    " created_at FROM reports WHERE TRUE";
inline constexpr std::string_view kFindReportsBefore = " AND id < ?";
inline constexpr std::string_view kFindReportsByDevice = " AND device_id = ?";
inline constexpr std::string_view kFindReportsByPackage = " AND package_uid = ?";
inline constexpr std::string_view kFindReportsByStatus = " AND status = ?";
inline constexpr std::string_view kFindReportsTail = " ORDER BY id DESC LIMIT ?";

}  // namespace uh::server::pg::sql
