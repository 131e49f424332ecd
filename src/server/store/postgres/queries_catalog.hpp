#pragma once

// The PostgreSQL store's statements about products, signing keys and packages
// (postgres_store_catalog.cpp), and about users, tokens and the audit log
// (postgres_store_people.cpp). Values are always bound parameters.
//
// Fixed statements number their parameters ("$1"). FindAudit joins its statement at run time
// from the kFindAudit... fragments (never client data), which write "?" for each parameter; the
// store numbers them in the order it joins the fragments, which is the order it binds them.
//
// Text is ordered byte-wise (COLLATE "C") wherever an order reaches a caller, as SQLite orders
// it; the schema's text columns are "C" already, so the indexes still serve these orders.

#include <cstddef>
#include <string_view>

namespace uh::server::pg::sql {

// Products and signing keys
#define UH_PG_PRODUCT_COLUMNS                                                            \
  "uid, name, created_at, device_token_hash, forbid_downgrades, device_auth, enrolment," \
  " client_ca"
inline constexpr std::string_view kInsertProduct =
    "INSERT INTO products (" UH_PG_PRODUCT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
inline constexpr std::string_view kSelectProduct =
    "SELECT " UH_PG_PRODUCT_COLUMNS " FROM products WHERE uid = $1";
inline constexpr std::string_view kListProducts =
    "SELECT " UH_PG_PRODUCT_COLUMNS " FROM products ORDER BY name COLLATE \"C\", uid COLLATE \"C\"";
#undef UH_PG_PRODUCT_COLUMNS
inline constexpr std::string_view kSetForbidDowngrades =
    "UPDATE products SET forbid_downgrades = $2 WHERE uid = $1";
// A product token switches a product without device authentication to it, and back.
inline constexpr std::string_view kSetDeviceTokenHash =
    "UPDATE products SET device_token_hash = $2::text, device_auth = CASE"
    " WHEN $2::text <> '' AND device_auth = 'none' THEN 'product-token'"
    " WHEN $2::text = '' AND device_auth = 'product-token' THEN 'none' ELSE device_auth END"
    " WHERE uid = $1";
inline constexpr std::string_view kSetProductDeviceAuth =
    "UPDATE products SET device_auth = $2, enrolment = $3, client_ca = $4 WHERE uid = $1";
#define UH_PG_KEY_COLUMNS "id, product_uid, name, public_pem, fingerprint, created_at"
inline constexpr std::string_view kInsertKey =
    "INSERT INTO signing_keys (product_uid, name, public_pem, fingerprint, created_at)"
    " VALUES ($1, $2, $3, $4, $5) RETURNING id";
inline constexpr std::string_view kListKeys =
    "SELECT " UH_PG_KEY_COLUMNS " FROM signing_keys WHERE product_uid = $1 ORDER BY id";
inline constexpr std::string_view kSelectKey =
    "SELECT " UH_PG_KEY_COLUMNS " FROM signing_keys WHERE id = $1";
#undef UH_PG_KEY_COLUMNS
inline constexpr std::string_view kDeleteKey = "DELETE FROM signing_keys WHERE id = $1";

// Packages. The same uid again is not an error but a no-op (InsertPackage is idempotent).
#define UH_PG_PACKAGE_COLUMNS                                                         \
  "uid, product_uid, version, metadata, signature, supported_hardware, size, key_id," \
  " created_at"
inline constexpr std::string_view kInsertPackage = "INSERT INTO packages (" UH_PG_PACKAGE_COLUMNS
                                                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                                                   " ON CONFLICT (uid) DO NOTHING";
// An object listed twice in one package is stored once.
inline constexpr std::string_view kInsertPackageObject =
    "INSERT INTO package_objects (package_uid, sha256, size) VALUES ($1, $2, $3)"
    " ON CONFLICT (package_uid, sha256) DO NOTHING";
inline constexpr std::string_view kSelectPackage =
    "SELECT " UH_PG_PACKAGE_COLUMNS " FROM packages WHERE uid = $1";
inline constexpr std::string_view kListPackages =
    "SELECT " UH_PG_PACKAGE_COLUMNS
    " FROM packages WHERE product_uid = $1"
    " ORDER BY created_at COLLATE \"C\" DESC, uid COLLATE \"C\"";
#undef UH_PG_PACKAGE_COLUMNS
inline constexpr std::string_view kUpdatePackageSignature =
    "UPDATE packages SET signature = $2, key_id = $3 WHERE uid = $1";
inline constexpr std::string_view kSelectPackageObjects =
    "SELECT package_uid, sha256, size FROM package_objects WHERE package_uid = $1"
    " ORDER BY sha256 COLLATE \"C\"";
inline constexpr std::string_view kListProductPackageObjects =
    "SELECT o.package_uid, o.sha256, o.size FROM package_objects AS o"
    " JOIN packages AS p ON p.uid = o.package_uid WHERE p.product_uid = $1"
    " ORDER BY o.package_uid COLLATE \"C\", o.sha256 COLLATE \"C\"";
// Archived rollouts (IsArchived in the model; 'archived' is kept from before the rollout
// engine) no longer hold their package.
inline constexpr std::string_view kSelectActiveRollout =
    "SELECT id, state FROM rollouts WHERE package_uid = $1"
    " AND state NOT IN ('finished', 'stopped', 'archived') ORDER BY id LIMIT 1";
inline constexpr std::string_view kDeletePackage = "DELETE FROM packages WHERE uid = $1";
inline constexpr std::string_view kObjectInUse =
    "SELECT EXISTS (SELECT 1 FROM package_objects WHERE sha256 = $1)";

// Users and tokens. RFC 3339 UTC times compare as text; '' means no expiry.
#define UH_PG_USER_COLUMNS "id, name, password_hash, role, products, created_at"
inline constexpr std::string_view kInsertUser =
    "INSERT INTO users (name, password_hash, admin, role, products, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
inline constexpr std::string_view kFindUser =
    "SELECT " UH_PG_USER_COLUMNS " FROM users WHERE name = $1";
inline constexpr std::string_view kCountUsers = "SELECT COUNT(*) FROM users";
inline constexpr std::string_view kSelectUser =
    "SELECT " UH_PG_USER_COLUMNS " FROM users WHERE id = $1";
inline constexpr std::string_view kListUsers =
    "SELECT " UH_PG_USER_COLUMNS " FROM users ORDER BY name COLLATE \"C\"";
#undef UH_PG_USER_COLUMNS
inline constexpr std::string_view kSetUserRole =
    "UPDATE users SET role = $2, admin = $3, products = $4 WHERE id = $1";
inline constexpr std::string_view kSetUserPassword =
    "UPDATE users SET password_hash = $2 WHERE id = $1";
// Tokens go with the user (ON DELETE CASCADE).
inline constexpr std::string_view kDeleteUser = "DELETE FROM users WHERE id = $1";
inline constexpr std::string_view kDeleteUserTokens = "DELETE FROM tokens WHERE user_id = $1";
#define UH_PG_TOKEN_COLUMNS \
  "token_hash, user_id, kind, name, expires_at, created_at, scopes, last_used_at"
inline constexpr std::string_view kInsertToken =
    "INSERT INTO tokens (" UH_PG_TOKEN_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
inline constexpr std::string_view kFindToken =
    "SELECT " UH_PG_TOKEN_COLUMNS
    " FROM tokens WHERE token_hash = $1 AND (expires_at = '' OR expires_at > $2)";
// $1 the user, 0 for every user's tokens.
inline constexpr std::string_view kListTokens =
    "SELECT " UH_PG_TOKEN_COLUMNS
    " FROM tokens WHERE $1::bigint = 0 OR user_id = $1::bigint"
    " ORDER BY created_at COLLATE \"C\", token_hash COLLATE \"C\"";
#undef UH_PG_TOKEN_COLUMNS
inline constexpr std::string_view kTouchToken =
    "UPDATE tokens SET last_used_at = $2 WHERE token_hash = $1";
inline constexpr std::string_view kDeleteToken = "DELETE FROM tokens WHERE token_hash = $1";

// The audit log. AppendAudit reads the last row and inserts the next in one SERIALIZABLE
// transaction: of two servers appending at once, one is failed and runs again (pool.hpp), so
// the rows form one chain.
#define UH_PG_AUDIT_COLUMNS \
  "id, at, actor, user_id, token, address, action, target, status, detail, prev_hash, hash"
inline constexpr std::string_view kLastAudit =
    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";
inline constexpr std::string_view kInsertAudit =
    "INSERT INTO audit (" UH_PG_AUDIT_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
inline constexpr std::string_view kFindAuditHead =
    "SELECT " UH_PG_AUDIT_COLUMNS " FROM audit WHERE TRUE";
inline constexpr std::string_view kFindAuditBefore = " AND id < ?";
// audit_by_actor holds the actors of at most kMaxIndexedActorBytes (migration 0005): for them
// the statement repeats its condition, so that it can use the index; a longer one is looked
// for without it, reading the whole log.
inline constexpr std::size_t kMaxIndexedActorBytes = 2000;
inline constexpr std::string_view kFindAuditByActor =
    " AND actor = ? AND octet_length(actor) <= 2000";
inline constexpr std::string_view kFindAuditByLongActor = " AND actor = ?";
inline constexpr std::string_view kFindAuditByAction = " AND action = ?";
inline constexpr std::string_view kFindAuditSince = " AND at >= ?";
inline constexpr std::string_view kFindAuditUntil = " AND at < ?";
inline constexpr std::string_view kFindAuditTail = " ORDER BY id DESC LIMIT ?";
inline constexpr std::string_view kListAuditAfter =
    "SELECT " UH_PG_AUDIT_COLUMNS " FROM audit WHERE id > $1 ORDER BY id LIMIT $2";
#undef UH_PG_AUDIT_COLUMNS

}  // namespace uh::server::pg::sql
