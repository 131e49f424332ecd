#pragma once

// Every SQL statement of the SQLite store. Values are always bound parameters ("?N").

#include <string_view>

namespace uh::server::sqlite::sql {

// Products and signing keys
inline constexpr std::string_view kInsertProduct =
    "INSERT INTO products (uid, name, created_at, device_token_hash, forbid_downgrades,"
    " device_auth, enrolment, client_ca) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
inline constexpr std::string_view kSelectProduct =
    "SELECT uid, name, created_at, device_token_hash, forbid_downgrades, device_auth, enrolment,"
    " client_ca FROM products WHERE uid = ?1";
inline constexpr std::string_view kListProducts =
    "SELECT uid, name, created_at, device_token_hash, forbid_downgrades, device_auth, enrolment,"
    " client_ca FROM products ORDER BY name, uid";
inline constexpr std::string_view kSetForbidDowngrades =
    "UPDATE products SET forbid_downgrades = ?2 WHERE uid = ?1";
// A product token switches a product without device authentication to it, and back.
inline constexpr std::string_view kSetDeviceTokenHash =
    "UPDATE products SET device_token_hash = ?2, device_auth = CASE"
    " WHEN ?2 <> '' AND device_auth = 'none' THEN 'product-token'"
    " WHEN ?2 = '' AND device_auth = 'product-token' THEN 'none' ELSE device_auth END"
    " WHERE uid = ?1";
inline constexpr std::string_view kSetProductDeviceAuth =
    "UPDATE products SET device_auth = ?2, enrolment = ?3, client_ca = ?4 WHERE uid = ?1";
inline constexpr std::string_view kInsertKey =
    "INSERT INTO signing_keys (product_uid, name, public_pem, fingerprint, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id";
inline constexpr std::string_view kListKeys =
    "SELECT id, product_uid, name, public_pem, fingerprint, created_at FROM signing_keys"
    " WHERE product_uid = ?1 ORDER BY id";
inline constexpr std::string_view kDeleteKey = "DELETE FROM signing_keys WHERE id = ?1";
inline constexpr std::string_view kSelectKey =
    "SELECT id, product_uid, name, public_pem, fingerprint, created_at FROM signing_keys"
    " WHERE id = ?1";
inline constexpr std::string_view kUpdatePackageSignature =
    "UPDATE packages SET signature = ?2, key_id = ?3 WHERE uid = ?1";

// Packages. The same uid again is not an error but a no-op (InsertPackage is idempotent).
inline constexpr std::string_view kInsertPackage =
    "INSERT INTO packages (uid, product_uid, version, metadata, signature, supported_hardware,"
    " size, key_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (uid) DO NOTHING";
// An object listed twice in one package is stored once.
inline constexpr std::string_view kInsertPackageObject =
    "INSERT INTO package_objects (package_uid, sha256, size) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (package_uid, sha256) DO NOTHING";
inline constexpr std::string_view kSelectPackage =
    "SELECT uid, product_uid, version, metadata, signature, supported_hardware, size, key_id,"
    " created_at FROM packages WHERE uid = ?1";
inline constexpr std::string_view kListPackages =
    "SELECT uid, product_uid, version, metadata, signature, supported_hardware, size, key_id,"
    " created_at FROM packages WHERE product_uid = ?1 ORDER BY created_at DESC, uid";
inline constexpr std::string_view kSelectPackageObjects =
    "SELECT package_uid, sha256, size FROM package_objects WHERE package_uid = ?1"
    " ORDER BY sha256";
inline constexpr std::string_view kListProductPackageObjects =
    "SELECT o.package_uid, o.sha256, o.size FROM package_objects AS o"
    " JOIN packages AS p ON p.uid = o.package_uid WHERE p.product_uid = ?1"
    " ORDER BY o.package_uid, o.sha256";
// Archived rollouts (IsArchived in the model; 'archived' is kept from before the rollout
// engine) no longer hold their package or their devices.
#define UH_ARCHIVED_ROLLOUT_STATES "('finished', 'stopped', 'archived')"
inline constexpr std::string_view kSelectActiveRollout =
    "SELECT id, state FROM rollouts WHERE package_uid = ?1"
    " AND state NOT IN " UH_ARCHIVED_ROLLOUT_STATES " ORDER BY id LIMIT 1";
inline constexpr std::string_view kDeletePackage = "DELETE FROM packages WHERE uid = ?1";
inline constexpr std::string_view kObjectInUse =
    "SELECT EXISTS (SELECT 1 FROM package_objects WHERE sha256 = ?1)";

// Devices. A new device's created_at is its first probe.
#define UH_DEVICE_COLUMNS                                                                        \
  "id, product_uid, identity, attributes, hardware, version, last_seen, created_at, auth_state," \
  " token_hash"
inline constexpr std::string_view kUpsertDevice =
    "INSERT INTO devices (product_uid, identity, attributes, hardware, version, last_seen,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
    " ON CONFLICT (product_uid, identity) DO UPDATE SET attributes = excluded.attributes,"
    " hardware = excluded.hardware, version = excluded.version, last_seen = excluded.last_seen"
    " RETURNING " UH_DEVICE_COLUMNS;
inline constexpr std::string_view kSelectDevice =
    "SELECT " UH_DEVICE_COLUMNS " FROM devices WHERE id = ?1";
inline constexpr std::string_view kFindDevice =
    "SELECT " UH_DEVICE_COLUMNS " FROM devices WHERE product_uid = ?1 AND identity = ?2";
// LookupProbe: the device (UH_DEVICE_COLUMNS' order), its membership (UH_ROLLOUT_DEVICE_COLUMNS'
// order, from column 10) and the catalog version (column 18); the row exists when the device
// does not (its columns NULL).
inline constexpr int kLookupMembershipColumn = 10;
inline constexpr int kLookupVersionColumn = 18;
inline constexpr std::string_view kLookupProbe =
    "SELECT d.id, d.product_uid, d.identity, d.attributes, d.hardware, d.version, d.last_seen,"
    " d.created_at, d.auth_state, d.token_hash,"
    " r.rollout_id, r.device_id, r.stage, r.state, r.error_message, r.started_at, r.updated_at,"
    " r.retries, v.version"
    " FROM catalog_version AS v"
    " LEFT JOIN devices AS d ON d.product_uid = ?1 AND d.identity = ?2"
    " LEFT JOIN rollout_devices AS r"
    " ON r.device_id = d.id AND r.product_uid = d.product_uid AND r.active = 1";
inline constexpr std::string_view kCatalogVersion = "SELECT version FROM catalog_version";
// ListDevices joins these fragments (never client data) into one of eight statements, so
// each filter can use its (column, id) index; the parameters are numbered in order.
inline constexpr std::string_view kListDevicesHead =
    "SELECT " UH_DEVICE_COLUMNS " FROM devices WHERE id > ?";
inline constexpr std::string_view kListDevicesByProduct = " AND product_uid = ?";
inline constexpr std::string_view kListDevicesByHardware = " AND hardware = ?";
inline constexpr std::string_view kListDevicesByVersion = " AND version = ?";
inline constexpr std::string_view kListDevicesTail = " ORDER BY id LIMIT ?";
// CountDevices: the same fragments after this head, without paging.
inline constexpr std::string_view kCountDevicesHead = "SELECT COUNT(*) FROM devices WHERE 1 = 1";
// Bound: key, value. The key's value is the text, or a list that holds it (device_fields, kept
// by migration 0011's triggers: one row per value, a list's elements one by one).
inline constexpr std::string_view kListDevicesByIdentity =
    " AND id IN (SELECT device_id FROM device_fields WHERE kind = 0 AND key = ? AND value = ?)";
inline constexpr std::string_view kListDevicesByAttribute =
    " AND id IN (SELECT device_id FROM device_fields WHERE kind = 1 AND key = ? AND value = ?)";
inline constexpr std::string_view kListDevicesSeenBefore = " AND last_seen < ?";
inline constexpr std::string_view kListDevicesSeenAfter = " AND last_seen >= ?";
// The membership FindRolloutDevice reads (the partial index rollout_devices_one_active).
#define UH_ACTIVE_MEMBERSHIP                                                            \
  "(SELECT 1 FROM rollout_devices AS r WHERE r.device_id = devices.id AND r.active = 1" \
  " AND r.product_uid = devices.product_uid"
// The few devices in one state are found from the state (rollout_devices_active_state_device),
// not by visiting every device.
inline constexpr std::string_view kListDevicesInRolloutState =
    " AND (id, product_uid) IN (SELECT device_id, product_uid FROM rollout_devices"
    " WHERE active = 1 AND state = ?)";
inline constexpr std::string_view kListDevicesInNoRollout =
    " AND NOT EXISTS " UH_ACTIVE_MEMBERSHIP ")";
#undef UH_ACTIVE_MEMBERSHIP

// The overview. Each is one GROUP BY over an index; with a product, the product's rows only
// (the statement gets kWhereProduct or kAndProduct, which bind ?1).
inline constexpr std::string_view kWhereProduct = " WHERE product_uid = ?1";
inline constexpr std::string_view kAndProduct = " AND product_uid = ?1";
inline constexpr std::string_view kDevicesByVersionHead = "SELECT version, COUNT(*) FROM devices";
inline constexpr std::string_view kDevicesByHardwareHead = "SELECT hardware, COUNT(*) FROM devices";
inline constexpr std::string_view kGroupByFirstTail = " GROUP BY 1 ORDER BY 2 DESC, 1";
inline constexpr std::string_view kDevicesByRolloutStateHead =
    "SELECT state, COUNT(*) FROM rollout_devices WHERE active = 1";
// ?2 an hour ago, ?3 a day ago, ?4 the overdue limit.
inline constexpr std::string_view kDevicesSeenHead =
    "SELECT COUNT(*), TOTAL(last_seen >= ?2), TOTAL(last_seen >= ?3), TOTAL(last_seen < ?4)"
    " FROM devices";
// ?2 the limit. reports_by_status walks the errors newest first.
inline constexpr std::string_view kLatestFailuresHead =
    "SELECT r.id, r.device_id, r.package_uid, r.status, r.previous_state, r.error_message,"
    " r.current_log, r.created_at, d.product_uid, d.identity, d.hardware, d.version"
    " FROM reports AS r JOIN devices AS d ON d.id = r.device_id WHERE r.status = 'error'";
inline constexpr std::string_view kLatestFailuresByProduct = " AND d.product_uid = ?1";
inline constexpr std::string_view kLatestFailuresTail = " ORDER BY r.id DESC LIMIT ?2";
// Device authentication: an enrolled or pre-provisioned device, never replacing one.
inline constexpr std::string_view kCreateDevice =
    "INSERT INTO devices (product_uid, identity, attributes, hardware, version, last_seen,"
    " created_at, auth_state, token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)"
    " ON CONFLICT (product_uid, identity) DO NOTHING RETURNING " UH_DEVICE_COLUMNS;
inline constexpr std::string_view kSetDeviceAuthState =
    "UPDATE devices SET auth_state = ?2 WHERE id = ?1";
inline constexpr std::string_view kSetDeviceSecretHash =
    "UPDATE devices SET token_hash = ?2 WHERE id = ?1";
inline constexpr std::string_view kFindDeviceBySecretHash =
    "SELECT " UH_DEVICE_COLUMNS
    " FROM devices WHERE product_uid = ?1 AND token_hash = ?2"
    " AND token_hash <> ''";
#undef UH_DEVICE_COLUMNS
// RFC 3339 UTC times compare as text: last_seen never moves back.
inline constexpr std::string_view kTouchDevice =
    "UPDATE devices SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2";

// CountSelection joins these fragments (never client data): the head binds ?1 (the product),
// each condition one more parameter in order (a JSON array of ids, hardware or versions), or
// three for an identity or attributes key (key, value, value) as Selects matches them: the
// key's value is the text, or a list holding it.
inline constexpr std::string_view kCountSelectionHead =
    "SELECT auth_state = 'accepted', hardware, version,"
    " EXISTS (SELECT 1 FROM rollout_devices AS r WHERE r.device_id = devices.id AND r.active = 1"
    " AND r.product_uid = devices.product_uid), COUNT(*), MIN(id)"
    " FROM devices WHERE product_uid = ?1";
inline constexpr std::string_view kCountSelectionByIds =
    " AND id IN (SELECT value FROM json_each(?))";
inline constexpr std::string_view kCountSelectionByHardware =
    " AND hardware IN (SELECT value FROM json_each(?))";
inline constexpr std::string_view kCountSelectionByVersion =
    " AND version IN (SELECT value FROM json_each(?))";
// Bound text matches text values only (device_fields.value has no affinity).
inline constexpr std::string_view kCountSelectionByIdentity = kListDevicesByIdentity;
inline constexpr std::string_view kCountSelectionByAttribute = kListDevicesByAttribute;
inline constexpr std::string_view kCountSelectionTail = " GROUP BY 1, 2, 3, 4";
// ?1 the product, ?2 the listed ids (a JSON array).
inline constexpr std::string_view kUnknownDeviceIds =
    "SELECT DISTINCT value FROM json_each(?2)"
    " WHERE value NOT IN (SELECT id FROM devices WHERE product_uid = ?1) ORDER BY value";

// The versions a device ran (migration 0010), newest first.
inline constexpr std::string_view kListDeviceVersions =
    "SELECT id, version, since FROM device_versions WHERE device_id = ?1"
    " AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3";

// Reports, newest (last inserted) first.
inline constexpr std::string_view kInsertReport =
    "INSERT INTO reports (device_id, package_uid, status, previous_state, error_message,"
    " current_log, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
// FindReports joins these fragments (never client data), like ListDevices.
inline constexpr std::string_view kFindReportsHead =
    "SELECT id, device_id, package_uid, status, previous_state, error_message, current_log,"
    " created_at FROM reports WHERE (?1 = 0 OR id < ?1)";
inline constexpr std::string_view kFindReportsByDevice = " AND device_id = ?";
inline constexpr std::string_view kFindReportsByPackage = " AND package_uid = ?";
inline constexpr std::string_view kFindReportsByStatus = " AND status = ?";
inline constexpr std::string_view kFindReportsTail = " ORDER BY id DESC LIMIT ?";

// The audit log.
#define UH_AUDIT_COLUMNS \
  "id, at, actor, user_id, token, address, action, target, status, detail, prev_hash, hash"
inline constexpr std::string_view kLastAudit =
    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";
inline constexpr std::string_view kInsertAudit = "INSERT INTO audit (" UH_AUDIT_COLUMNS
                                                 ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                                                 " ?10, ?11, ?12)";
inline constexpr std::string_view kFindAuditHead =
    "SELECT " UH_AUDIT_COLUMNS " FROM audit WHERE (?1 = 0 OR id < ?1)";
inline constexpr std::string_view kFindAuditByActor = " AND actor = ?";
inline constexpr std::string_view kFindAuditByAction = " AND action = ?";
inline constexpr std::string_view kFindAuditSince = " AND at >= ?";
inline constexpr std::string_view kFindAuditUntil = " AND at < ?";
inline constexpr std::string_view kFindAuditTail = " ORDER BY id DESC LIMIT ?";
inline constexpr std::string_view kListAuditAfter =
    "SELECT " UH_AUDIT_COLUMNS " FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2";

// Users and tokens. RFC 3339 UTC times compare as text; '' means no expiry.
#define UH_USER_COLUMNS "id, name, password_hash, role, products, created_at"
inline constexpr std::string_view kInsertUser =
    "INSERT INTO users (name, password_hash, admin, role, products, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
inline constexpr std::string_view kFindUser =
    "SELECT " UH_USER_COLUMNS " FROM users WHERE name = ?1";
inline constexpr std::string_view kCountUsers = "SELECT COUNT(*) FROM users";
inline constexpr std::string_view kSelectUser =
    "SELECT " UH_USER_COLUMNS " FROM users WHERE id = ?1";
inline constexpr std::string_view kListUsers =
    "SELECT " UH_USER_COLUMNS " FROM users ORDER BY name";
inline constexpr std::string_view kSetUserRole =
    "UPDATE users SET role = ?2, admin = ?3, products = ?4 WHERE id = ?1";
inline constexpr std::string_view kSetUserPassword =
    "UPDATE users SET password_hash = ?2 WHERE id = ?1";
// Tokens go with the user (ON DELETE CASCADE).
inline constexpr std::string_view kDeleteUser = "DELETE FROM users WHERE id = ?1";
inline constexpr std::string_view kDeleteUserTokens = "DELETE FROM tokens WHERE user_id = ?1";
#define UH_TOKEN_COLUMNS \
  "token_hash, user_id, kind, name, expires_at, created_at, scopes, last_used_at"
inline constexpr std::string_view kInsertToken =
    "INSERT INTO tokens (" UH_TOKEN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
inline constexpr std::string_view kFindToken =
    "SELECT " UH_TOKEN_COLUMNS
    " FROM tokens"
    " WHERE token_hash = ?1 AND (expires_at = '' OR expires_at > ?2)";
inline constexpr std::string_view kListTokens = "SELECT " UH_TOKEN_COLUMNS
                                                " FROM tokens WHERE ?1 = 0 OR user_id = ?1"
                                                " ORDER BY created_at, token_hash";
inline constexpr std::string_view kTouchToken =
    "UPDATE tokens SET last_used_at = ?2 WHERE token_hash = ?1";
inline constexpr std::string_view kDeleteToken = "DELETE FROM tokens WHERE token_hash = ?1";
#undef UH_USER_COLUMNS
#undef UH_TOKEN_COLUMNS

// Rollouts, oldest first. selection and plan are JSON text (rollout_encoding.hpp).
#define UH_ROLLOUT_COLUMNS                                                                  \
  "id, product_uid, package_uid, name, state, selection, plan, start_at, current_stage,"    \
  " stage_succeeded_at, reason, created_at, started_at, finished_at, paused_by, paused_at," \
  " revision"
inline constexpr std::string_view kInsertRollout =
    "INSERT INTO rollouts (product_uid, package_uid, name, state, selection, plan, start_at,"
    " current_stage, stage_succeeded_at, reason, created_at, started_at, finished_at,"
    " paused_by, paused_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING id";
inline constexpr std::string_view kSelectRollout =
    "SELECT " UH_ROLLOUT_COLUMNS " FROM rollouts WHERE id = ?1";
// ?1 true: archived ones too.
inline constexpr std::string_view kListAllRollouts =
    "SELECT " UH_ROLLOUT_COLUMNS
    " FROM rollouts"
    " WHERE ?1 OR state NOT IN " UH_ARCHIVED_ROLLOUT_STATES " ORDER BY id";
inline constexpr std::string_view kListProductRollouts =
    "SELECT " UH_ROLLOUT_COLUMNS
    " FROM rollouts"
    " WHERE product_uid = ?1 AND (?2 OR state NOT IN " UH_ARCHIVED_ROLLOUT_STATES ") ORDER BY id";
inline constexpr std::string_view kProductExists = "SELECT 1 FROM products WHERE uid = ?1";
// (product_uid, whether archived) of a rollout.
inline constexpr std::string_view kSelectRolloutOwner =
    "SELECT product_uid, state IN " UH_ARCHIVED_ROLLOUT_STATES " FROM rollouts WHERE id = ?1";
// Every change moves the revision on; the second form saves only over revision ?11.
#define UH_UPDATE_ROLLOUT                                                                     \
  "UPDATE rollouts SET state = ?2, current_stage = ?3, stage_succeeded_at = ?4, reason = ?5," \
  " plan = ?6, started_at = ?7, finished_at = ?8, paused_by = ?9, paused_at = ?10,"           \
  " revision = revision + 1 WHERE id = ?1"
inline constexpr std::string_view kUpdateRollout = UH_UPDATE_ROLLOUT;
inline constexpr std::string_view kUpdateRolloutIfUnchanged =
    UH_UPDATE_ROLLOUT " AND revision = ?11";
#undef UH_UPDATE_ROLLOUT
#undef UH_ROLLOUT_COLUMNS
#undef UH_ARCHIVED_ROLLOUT_STATES

// Rollout devices. A device already active in a rollout of the product (the partial unique
// index) or already in this rollout (the primary key) is skipped, not an error.
#define UH_ROLLOUT_DEVICE_COLUMNS \
  "rollout_id, device_id, stage, state, error_message, started_at, updated_at, retries"
inline constexpr std::string_view kInsertRolloutDevice =
    "INSERT INTO rollout_devices (rollout_id, device_id, product_uid, stage, state,"
    " error_message, started_at, updated_at, retries, active)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1) ON CONFLICT DO NOTHING";
inline constexpr std::string_view kReleaseRolloutDevices =
    "UPDATE rollout_devices SET active = 0 WHERE rollout_id = ?1 AND active = 1";
// The membership in a rollout of the device's own product.
inline constexpr std::string_view kFindRolloutDevice =
    "SELECT " UH_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE device_id = ?1 AND active = 1"
    " AND product_uid = (SELECT product_uid FROM devices WHERE id = ?1)";
inline constexpr std::string_view kUpdateRolloutDevice =
    "UPDATE rollout_devices SET state = ?3, error_message = ?4, started_at = ?5, updated_at = ?6"
    " WHERE rollout_id = ?1 AND device_id = ?2";
// Kept by triggers on rollout_devices (migration 0004): no counting at read time.
inline constexpr std::string_view kRolloutStats =
    "SELECT stage, state, devices FROM rollout_counts WHERE rollout_id = ?1 AND devices > 0";
// The same for the rollouts whose ids are the JSON array ?1, in one query (rollout lists).
inline constexpr std::string_view kRolloutStatsOf =
    "SELECT rollout_id, stage, state, devices FROM rollout_counts"
    " WHERE rollout_id IN (SELECT value FROM json_each(?1)) AND devices > 0";
// The first offer to a device (StartRolloutDevice): ?3 the time.
inline constexpr std::string_view kStartRolloutDevice =
    "UPDATE rollout_devices SET started_at = ?3, updated_at = ?3"
    " WHERE rollout_id = ?1 AND device_id = ?2 AND started_at = ''";
inline constexpr std::string_view kRolloutDeviceStarted =
    "SELECT started_at <> '' FROM rollout_devices WHERE rollout_id = ?1 AND device_id = ?2";
inline constexpr std::string_view kCountStartedSince =
    "SELECT COUNT(*) FROM rollout_devices WHERE rollout_id = ?1 AND started_at >= ?2"
    " AND started_at <> ''";
// ?1 the rollouts (a JSON array of ids), ?2 the time (rollout_devices_by_start).
inline constexpr std::string_view kCountStartedSinceOf =
    "SELECT rollout_id, COUNT(*) FROM rollout_devices"
    " WHERE rollout_id IN (SELECT value FROM json_each(?1)) AND started_at >= ?2"
    " AND started_at <> '' GROUP BY rollout_id";
// The places in rollout ?1 of the devices whose ids are the JSON array ?2.
inline constexpr std::string_view kSelectRolloutDevicesById =
    "SELECT " UH_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE rollout_id = ?1 AND device_id IN (SELECT value FROM json_each(?2))"
    " ORDER BY device_id";
// A retry: failed devices of an active rollout go back to pending, not offered yet (so the
// rate limit and the window apply again), their error cleared. ?1 rollout, ?2 now, and for
// the Listed variant ?3 the devices (a JSON array of ids).
#define UH_RETRY_ROLLOUT_DEVICES                                                       \
  "UPDATE rollout_devices SET state = 'pending', error_message = '', started_at = ''," \
  " updated_at = ?2, retries = retries + 1"                                            \
  " WHERE rollout_id = ?1 AND active = 1 AND state = 'failed'"
inline constexpr std::string_view kRetryRolloutDevices =
    UH_RETRY_ROLLOUT_DEVICES " RETURNING device_id";
inline constexpr std::string_view kRetryListedRolloutDevices = UH_RETRY_ROLLOUT_DEVICES
    " AND device_id IN (SELECT value FROM json_each(?3)) RETURNING device_id";
#undef UH_RETRY_ROLLOUT_DEVICES
// Of the product's devices whose ids are the JSON array ?2, those a non-archived rollout holds
// (the partial index rollout_devices_one_active).
inline constexpr std::string_view kHeldDevices =
    "SELECT device_id FROM rollout_devices"
    " WHERE device_id IN (SELECT value FROM json_each(?2)) AND product_uid = ?1 AND active = 1"
    " ORDER BY device_id";
// A device's rollouts, newest first (rollout_devices_by_device); the package's version is ''
// when the package was deleted since.
inline constexpr std::string_view kListDeviceRollouts =
    "SELECT rd.rollout_id, rd.device_id, rd.stage, rd.state, rd.error_message, rd.started_at,"
    " rd.updated_at, rd.retries, r.name, r.package_uid, COALESCE(p.version, ''), r.state,"
    " rd.active"
    " FROM rollout_devices AS rd JOIN rollouts AS r ON r.id = rd.rollout_id"
    " LEFT JOIN packages AS p ON p.uid = r.package_uid"
    " WHERE rd.device_id = ?1 AND (?2 = 0 OR rd.rollout_id < ?2)"
    " ORDER BY rd.rollout_id DESC LIMIT ?3";
inline constexpr std::string_view kListRolloutDevices =
    "SELECT " UH_ROLLOUT_DEVICE_COLUMNS
    " FROM rollout_devices"
    " WHERE rollout_id = ?1 AND device_id > ?2 AND (?4 = '' OR state = ?4)"
    " ORDER BY device_id LIMIT ?3";
// The rollout's ended devices counted by the minute of their updated_at: the latest ?2
// minutes, oldest first (rollout_devices_by_state_device finds the two states).
inline constexpr std::string_view kRolloutProgress =
    "SELECT minute, updated, failed FROM ("
    "SELECT substr(updated_at, 1, 16) AS minute, SUM(state = 'updated') AS updated,"
    " SUM(state = 'failed') AS failed"
    " FROM rollout_devices WHERE rollout_id = ?1 AND state IN ('updated', 'failed')"
    " GROUP BY minute ORDER BY minute DESC LIMIT ?2)"
    " ORDER BY minute";
// ?1 rollout, ?2 after device id, ?3 limit, ?4 state (only the ByState variant).
#define UH_ROLLOUT_MEMBERS                                                                   \
  "SELECT rd.rollout_id, rd.device_id, rd.stage, rd.state, rd.error_message, rd.started_at," \
  " rd.updated_at, rd.retries, d.identity, d.hardware, d.version, d.last_seen"               \
  " FROM rollout_devices AS rd JOIN devices AS d ON d.id = rd.device_id"                     \
  " WHERE rd.rollout_id = ?1 AND rd.device_id > ?2"
inline constexpr std::string_view kListRolloutMembers =
    UH_ROLLOUT_MEMBERS " ORDER BY rd.device_id LIMIT ?3";
inline constexpr std::string_view kListRolloutMembersByState =
    UH_ROLLOUT_MEMBERS " AND rd.state = ?4 ORDER BY rd.device_id LIMIT ?3";
#undef UH_ROLLOUT_MEMBERS
#undef UH_ROLLOUT_DEVICE_COLUMNS

// Leases (HoldLease): ?1 name, ?2 holder, ?3 duration in ms; a row when ?2 holds it now.
#define UH_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
inline constexpr std::string_view kHoldLease =
    "INSERT INTO leases (name, holder, expires_ms) VALUES (?1, ?2, " UH_NOW_MS
    " + ?3)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
    " expires_ms = excluded.expires_ms"
    " WHERE leases.holder = excluded.holder OR leases.expires_ms <= " UH_NOW_MS " RETURNING holder";
#undef UH_NOW_MS
inline constexpr std::string_view kReleaseLease =
    "DELETE FROM leases WHERE name = ?1 AND holder = ?2";

}  // namespace uh::server::sqlite::sql
