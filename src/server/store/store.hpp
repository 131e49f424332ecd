#pragma once

// The server's storage contract. Callers see only this interface; SQLite (embedded default)
// and PostgreSQL (several stateless servers sharing one database) implement it. Every write
// that returns success is durable. Strings from clients are bound as parameters, never spliced
// into SQL. Times are RFC 3339 UTC strings ("2026-11-22T12:00:00Z").

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "server/model/rollout.hpp"

namespace uh::server {

struct Product {
  std::string uid;  // 64 lowercase hex
  std::string name;
  std::string created_at;
  // sha256 hex of the shared token its devices must send (UH-Product-Token); "" when devices
  // need none, as with upstream's unmodified agents.
  std::string device_token_hash;
  // Rollouts must not take devices to an older version than they run (uh::CompareVersions).
  bool forbid_downgrades = false;
  // How its devices prove who they are (docs/device-authentication.md): "none",
  // "product-token", "device-token" or "mtls"; whether unknown devices may enrol ("off",
  // "manual", "auto"); the PEM of the CA that issues its device certificates (mtls).
  std::string device_auth = "none";
  std::string enrolment = "off";
  std::string client_ca{};
};

struct SigningKey {
  std::int64_t id = 0;
  std::string product_uid;
  std::string name;
  std::string public_pem;   // SubjectPublicKeyInfo PEM
  std::string fingerprint;  // sha256 of the DER public key
  std::string created_at;
};

struct PackageObject {
  std::string sha256;
  std::uint64_t size = 0;
};

struct Package {
  std::string uid;  // sha256 of the metadata bytes
  std::string product_uid;
  std::string version;
  std::string metadata;            // the exact bytes served to devices
  std::string signature;           // base64; empty when unsigned
  std::string supported_hardware;  // JSON text: "any" or an array of names
  std::uint64_t size = 0;          // sum of the distinct objects
  std::int64_t key_id = 0;         // the key whose signature verified
  std::vector<PackageObject> objects;
  std::string created_at;
};

struct Device {
  std::int64_t id = 0;
  std::string product_uid;
  std::string identity;    // canonical JSON object (sorted keys); unique per product
  std::string attributes;  // JSON object
  std::string hardware;
  std::string version;
  std::string last_seen;
  std::string created_at;
  // "accepted", "pending" (enrolled, awaiting an operator) or "rejected".
  std::string auth_state = "accepted";
  // sha256 hex of the device's own secret (device-token products); "" for none. Never shown.
  std::string token_hash{};
};

// What a probe tells the server about a device.
struct DeviceProbe {
  std::string product_uid;
  std::string identity;    // canonical JSON object
  std::string attributes;  // JSON object
  std::string hardware;
  std::string version;
  std::string seen_at;
};

// One row of the audit log (see migrations/sqlite/0005_audit.sql).
struct AuditEntry {
  std::int64_t id = 0;       // assigned by AppendAudit: the previous row's id + 1
  std::string at;            // RFC 3339 UTC
  std::string actor;         // the user name (for a failed login, the name tried)
  std::int64_t user_id = 0;  // 0 when no user was authenticated
  std::string token;         // which token: "sha256:" and 12 hex digits of its hash; "" for none
  std::string address;       // the client's address
  std::string action;        // e.g. "login", "login.failed", "package.upload", "rollout.pause"
  std::string target;        // what it acted on: an id, a uid, a name; "" for nothing
  int status = 0;            // the HTTP status answered
  std::string detail;        // a JSON object: parameters, before/after where it matters
  std::string prev_hash;     // the previous row's hash ("" for the first row)
  std::string hash;          // AuditEntryHash of this row
};

// sha256 over the previous row's hash and this row's fields (not its own hash), hex.
[[nodiscard]] std::string AuditEntryHash(const AuditEntry& entry);

struct AuditFilter {
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> since;  // at >= since (RFC 3339)
  std::optional<std::string> until;  // at < until
  std::int64_t before_id = 0;        // paging: rows with a smaller id; 0 starts at the newest
  std::size_t limit = 100;
};

struct Report {
  std::int64_t id = 0;
  std::int64_t device_id = 0;
  std::string package_uid;
  std::string status;  // downloading, downloaded, installing, installed, rebooting, error, ...
  std::string previous_state;
  std::string error_message;
  std::string current_log;
  std::string created_at;
};

// What a probe reads of the store (Store::LookupProbe), in one query.
struct ProbeLookup {
  // Moves on with every change to products, signing keys, packages and rollouts (migration
  // 0013), so that what a server keeps of them in memory (server/catalog.hpp) is known current.
  std::int64_t catalog_version = 0;
  std::optional<Device> device;  // by product and identity; none for a device never seen
  // The device's place in the non-archived rollout that holds it (FindRolloutDevice).
  std::optional<RolloutDevice> membership;
};

// A probe that changed nothing but the time: only last_seen moves (TouchDevices).
struct DeviceSeen {
  std::int64_t id = 0;
  std::string seen_at;
};

// Reports, newest first; every filter is optional.
struct ReportFilter {
  std::optional<std::int64_t> device_id;
  std::optional<std::string> package_uid;
  std::optional<std::string> status;
  std::int64_t before_id = 0;  // paging: reports with a smaller id; 0 starts at the newest
  std::size_t limit = 100;
};

// Every condition is optional; all given must hold. (The newer ones come after the paging
// fields so that brace-initialised filters written before them keep their meaning.)
struct DeviceFilter {
  std::optional<std::string> product_uid{};
  std::optional<std::string> hardware{};
  std::optional<std::string> version{};
  std::int64_t after_id = 0;  // paging: devices with a larger id
  std::size_t limit = 100;
  // key -> value the device's identity (attributes) must hold; a key whose value is a list
  // matches when the list holds the value. Values compare as JSON strings.
  std::vector<std::pair<std::string, std::string>> identity{};
  std::vector<std::pair<std::string, std::string>> attributes{};
  std::optional<std::string> seen_before{};  // last_seen < seen_before (RFC 3339)
  std::optional<std::string> seen_after{};   // last_seen >= seen_after
  // The device's state (DeviceStateName) in the non-archived rollout that holds it, or
  // kNoRolloutState for devices no such rollout holds.
  std::optional<std::string> rollout_state{};
};
inline constexpr std::string_view kNoRolloutState = "none";

// Counts of one GROUP BY: (value, devices), most devices first.
using GroupCounts = std::vector<std::pair<std::string, std::int64_t>>;

// The fleet at a glance (GET /api/v1/overview), counted by the database.
struct DeviceOverview {
  std::int64_t total = 0;
  GroupCounts by_version;
  GroupCounts by_hardware;
  // DeviceStateName in the non-archived rollout holding the device, or kNoRolloutState.
  GroupCounts by_rollout_state;
  std::int64_t seen_since_hour = 0;  // last_seen >= OverviewTimes::hour_ago
  std::int64_t seen_since_day = 0;   // last_seen >= OverviewTimes::day_ago
  std::int64_t overdue = 0;          // last_seen < OverviewTimes::overdue_before
};

struct OverviewTimes {
  std::string hour_ago;
  std::string day_ago;
  std::string overdue_before;
};

// A device's failure report with who the device is.
struct DeviceFailure {
  Report report;
  std::string product_uid;
  std::string identity;  // canonical JSON object
  std::string hardware;
  std::string version;
};

// A rollout's device with who it is (the rollout's device list).
struct RolloutMember {
  RolloutDevice place;
  std::string identity;  // canonical JSON object
  std::string hardware;
  std::string version;
  std::string last_seen;
};

// How a rollout's selection matches a product's devices, counted by the database: the selected
// devices grouped by what decides whether a rollout takes them (see CountSelection).
struct SelectionGroup {
  bool accepted = false;  // auth_state "accepted"
  std::string hardware;
  std::string version;
  bool held = false;            // a non-archived rollout of the product holds it
  std::int64_t devices = 0;     // how many
  std::int64_t example_id = 0;  // the smallest device id of the group
};
struct SelectionCounts {
  std::vector<SelectionGroup> groups;
  std::vector<std::int64_t> unknown_ids;  // listed ids that are no device of the product
};

// A version a device ran, from when the server saw it (a device's history).
struct DeviceVersion {
  std::int64_t id = 0;  // increases with time: the paging key
  std::string version;
  std::string since;  // RFC 3339; "" for versions from before the server kept the history
};

// A rollout a device was part of, with the device's place in it (a device's history).
struct DeviceRollout {
  RolloutDevice place;
  std::string name;
  std::string package_uid;
  std::string package_version;  // "" when the package was deleted since
  RolloutState rollout_state = RolloutState::kScheduled;
  bool active = false;  // the rollout holds the device now (it is not archived)
};

// How many of a rollout's devices ended (updated or failed) in one minute (the progress chart).
struct RolloutProgressPoint {
  std::string minute;  // "2026-11-22T12:00": the RFC 3339 time's first 16 characters
  std::int64_t updated = 0;
  std::int64_t failed = 0;
};

struct User {
  std::int64_t id = 0;
  std::string name;
  std::string password_hash;    // argon2id encoded string
  std::string role = "viewer";  // "admin", "release-manager" or "viewer" (server/access.hpp)
  // The products the user may act on; empty for every product.
  std::vector<std::string> products;
  std::string created_at;

  [[nodiscard]] bool IsAdmin() const { return role == "admin"; }
};

struct Token {
  std::string token_hash;  // sha256 hex of the secret; the secret itself is never stored
  std::int64_t user_id = 0;
  std::string kind;        // "session" or "api"
  std::string name;        // for API tokens
  std::string expires_at;  // "" for no expiry
  std::string created_at;
  // Space-separated scopes (server/access.hpp) the token is limited to, within its user's role;
  // "" for everything the role allows.
  std::string scopes;
  std::string last_used_at;  // "" when never used
};

class Store {
 public:
  virtual ~Store() = default;

  // Products
  [[nodiscard]] virtual Expected<Product> CreateProduct(const Product& product) = 0;
  [[nodiscard]] virtual Expected<std::optional<Product>> GetProduct(const std::string& uid) = 0;
  [[nodiscard]] virtual Expected<std::vector<Product>> ListProducts() = 0;
  // Sets (or clears, with "") the device token hash; false for an unknown product. Setting one
  // moves a product from device_auth "none" to "product-token"; clearing it moves it back.
  [[nodiscard]] virtual Expected<bool> SetDeviceTokenHash(const std::string& uid,
                                                          const std::string& token_hash) = 0;

  // False for an unknown product.
  [[nodiscard]] virtual Expected<bool> SetForbidDowngrades(const std::string& uid, bool forbid) = 0;

  // Signing keys; AddKey fails with kAlreadyExists for the same fingerprint on a product.
  [[nodiscard]] virtual Expected<SigningKey> AddKey(const SigningKey& key) = 0;
  [[nodiscard]] virtual Expected<std::vector<SigningKey>> ListKeys(
      const std::string& product_uid) = 0;
  [[nodiscard]] virtual Expected<bool> DeleteKey(std::int64_t id) = 0;

  // Packages. InsertPackage is idempotent: the same uid again returns false and changes
  // nothing; true when it was stored now.
  [[nodiscard]] virtual Expected<bool> InsertPackage(const Package& package) = 0;
  [[nodiscard]] virtual Expected<std::optional<Package>> GetPackage(const std::string& uid) = 0;
  [[nodiscard]] virtual Expected<std::vector<Package>> ListPackages(
      const std::string& product_uid) = 0;
  // Replaces a stored package's signature and the key it verified with (the operator re-signed
  // it after its key was deleted); false for an unknown package.
  [[nodiscard]] virtual Expected<bool> UpdatePackageSignature(const std::string& uid,
                                                              const std::string& signature,
                                                              std::int64_t key_id) = 0;
  // Fails with kInvalidArgument while a rollout uses it. True when something was deleted.
  [[nodiscard]] virtual Expected<bool> DeletePackage(const std::string& uid) = 0;
  // Whether any package still references the object (before removing it from disk).
  [[nodiscard]] virtual Expected<bool> ObjectInUse(const std::string& sha256) = 0;

  // Devices, keyed by (product, identity).
  [[nodiscard]] virtual Expected<Device> UpsertDevice(const DeviceProbe& probe) = 0;
  [[nodiscard]] virtual Expected<std::optional<Device>> GetDevice(std::int64_t id) = 0;
  [[nodiscard]] virtual Expected<std::optional<Device>> FindDevice(const std::string& product_uid,
                                                                   const std::string& identity) = 0;
  [[nodiscard]] virtual Expected<std::vector<Device>> ListDevices(const DeviceFilter& filter) = 0;
  // The catalog version, the device and its rollout membership, in one query (one round trip to
  // PostgreSQL): all a probe of a known device reads when nothing changed for it.
  [[nodiscard]] virtual Expected<ProbeLookup> LookupProbe(const std::string& product_uid,
                                                          const std::string& identity) = 0;
  // The catalog version alone (ProbeLookup::catalog_version).
  [[nodiscard]] virtual Expected<std::int64_t> CatalogVersion() = 0;
  // How many devices match the filter in all (its after_id and limit are ignored).
  [[nodiscard]] virtual Expected<std::int64_t> CountDevices(const DeviceFilter& filter) = 0;
  // Counts by version, hardware, rollout state and last seen, of one product's devices (every
  // product's with nullopt).
  [[nodiscard]] virtual Expected<DeviceOverview> GetDeviceOverview(
      const std::optional<std::string>& product_uid, const OverviewTimes& times) = 0;
  // The latest reports with status "error", newest first, with their devices.
  [[nodiscard]] virtual Expected<std::vector<DeviceFailure>> LatestFailures(
      const std::optional<std::string>& product_uid, std::size_t limit) = 0;
  // The versions the device ran, newest first, with a smaller id than `before_id` (0: from
  // the newest).
  [[nodiscard]] virtual Expected<std::vector<DeviceVersion>> ListDeviceVersions(
      std::int64_t device_id, std::int64_t before_id, std::size_t limit) = 0;
  // The rollouts the device was part of, newest first, with a smaller id than
  // `before_rollout_id` (0: from the newest).
  [[nodiscard]] virtual Expected<std::vector<DeviceRollout>> ListDeviceRollouts(
      std::int64_t device_id, std::int64_t before_rollout_id, std::size_t limit) = 0;
  // The product's devices the selection (rollout_rules.hpp Selects: the listed ids, or the
  // filter) takes, counted in groups by the database, without reading the devices.
  [[nodiscard]] virtual Expected<SelectionCounts> CountSelection(const std::string& product_uid,
                                                                 const Selection& selection) = 0;
  // Moves last_seen forward (never back) for many devices in one transaction.
  [[nodiscard]] virtual Expected<void> TouchDevices(const std::vector<DeviceSeen>& seen) = 0;

  // --- Device authentication (docs/device-authentication.md) ---------------------------------
  // Sets a product's device_auth, enrolment and client_ca; false for an unknown product.
  [[nodiscard]] virtual Expected<bool> SetProductDeviceAuth(const std::string& uid,
                                                            const std::string& device_auth,
                                                            const std::string& enrolment,
                                                            const std::string& client_ca) = 0;
  // Creates a device with its auth_state and token_hash; nullopt (and nothing changed) when the
  // product already has a device of that identity.
  [[nodiscard]] virtual Expected<std::optional<Device>> CreateDevice(
      const DeviceProbe& probe, const std::string& auth_state, const std::string& token_hash) = 0;
  // False for an unknown device.
  [[nodiscard]] virtual Expected<bool> SetDeviceAuthState(std::int64_t id,
                                                          const std::string& auth_state) = 0;
  [[nodiscard]] virtual Expected<bool> SetDeviceSecretHash(std::int64_t id,
                                                           const std::string& token_hash) = 0;
  // The product's device whose token_hash this is (token_hash must not be "").
  [[nodiscard]] virtual Expected<std::optional<Device>> FindDeviceBySecretHash(
      const std::string& product_uid, const std::string& token_hash) = 0;
  // --- end of device authentication ----------------------------------------------------------

  // Reports
  [[nodiscard]] virtual Expected<Report> InsertReport(const Report& report) = 0;
  // A device's report: the device as the report describes it (inserted or updated like
  // UpsertDevice) and the report (its device_id set to that device's), in one transaction.
  struct RecordedReport {
    Device device;
    Report report;
  };
  [[nodiscard]] virtual Expected<RecordedReport> RecordReport(const DeviceProbe& probe,
                                                              const Report& report) = 0;
  [[nodiscard]] virtual Expected<std::vector<Report>> FindReports(const ReportFilter& filter) = 0;
  // The device's latest reports, newest first.
  [[nodiscard]] Expected<std::vector<Report>> ListReports(std::int64_t device_id,
                                                          std::size_t limit) {
    ReportFilter filter;
    filter.device_id = device_id;
    filter.limit = limit;
    return FindReports(filter);
  }

  // Users and tokens
  [[nodiscard]] virtual Expected<User> CreateUser(const User& user) = 0;
  [[nodiscard]] virtual Expected<std::optional<User>> FindUser(const std::string& name) = 0;
  [[nodiscard]] virtual Expected<std::size_t> CountUsers() = 0;
  [[nodiscard]] virtual Expected<std::optional<User>> GetUser(std::int64_t id) = 0;
  [[nodiscard]] virtual Expected<std::vector<User>> ListUsers() = 0;
  // False for an unknown user.
  [[nodiscard]] virtual Expected<bool> SetUserPassword(std::int64_t id,
                                                       const std::string& password_hash) = 0;
  // Deletes the user and its tokens; false for an unknown user.
  [[nodiscard]] virtual Expected<bool> DeleteUser(std::int64_t id) = 0;
  // Revokes every token of the user (after a password change).
  [[nodiscard]] virtual Expected<void> DeleteUserTokens(std::int64_t user_id) = 0;
  [[nodiscard]] virtual Expected<void> InsertToken(const Token& token) = 0;
  // The token if it exists and has not expired at `now`.
  [[nodiscard]] virtual Expected<std::optional<Token>> FindToken(const std::string& token_hash,
                                                                 const std::string& now) = 0;
  [[nodiscard]] virtual Expected<bool> DeleteToken(const std::string& token_hash) = 0;
  // A user's tokens (every user's with 0), expired ones included, oldest first.
  [[nodiscard]] virtual Expected<std::vector<Token>> ListTokens(std::int64_t user_id) = 0;
  // Records when the token was last used.
  [[nodiscard]] virtual Expected<void> TouchToken(const std::string& token_hash,
                                                  const std::string& at) = 0;
  // Sets a user's role and products; false for an unknown user.
  [[nodiscard]] virtual Expected<bool> SetUserRole(std::int64_t id, const std::string& role,
                                                   const std::vector<std::string>& products) = 0;
  // A signing key by id (for checking who may delete it).
  [[nodiscard]] virtual Expected<std::optional<SigningKey>> GetKey(std::int64_t id) = 0;

  // The audit log. AppendAudit assigns id, prev_hash and hash in one transaction with reading
  // the last row, so that concurrent appends still make one chain.
  [[nodiscard]] virtual Expected<AuditEntry> AppendAudit(const AuditEntry& entry) = 0;
  // Newest first, filtered.
  [[nodiscard]] virtual Expected<std::vector<AuditEntry>> FindAudit(const AuditFilter& filter) = 0;
  // Oldest first from after `after_id`, for checking the chain and exporting.
  [[nodiscard]] virtual Expected<std::vector<AuditEntry>> ListAuditAfter(std::int64_t after_id,
                                                                         std::size_t limit) = 0;

  // Leases: work one server of several sharing the database does at a time. HoldLease takes
  // the lease `name` for `holder`, or renews it, until `duration_ms` from now by the database's
  // clock (servers' clocks may differ): true when `holder` holds it now (it was free, expired,
  // or already its own); false when another holder's has not expired.
  [[nodiscard]] virtual Expected<bool> HoldLease(const std::string& name, const std::string& holder,
                                                 std::int64_t duration_ms) = 0;
  // Gives the lease up, if `holder` holds it.
  [[nodiscard]] virtual Expected<void> ReleaseLease(const std::string& name,
                                                    const std::string& holder) = 0;

  // Rollouts. CreateRollout assigns the id. ListRollouts with an empty product lists every
  // product's; archived ones (finished, stopped) only when asked.
  [[nodiscard]] virtual Expected<Rollout> CreateRollout(const Rollout& rollout) = 0;
  [[nodiscard]] virtual Expected<std::optional<Rollout>> GetRollout(std::int64_t id) = 0;
  [[nodiscard]] virtual Expected<std::vector<Rollout>> ListRollouts(const std::string& product_uid,
                                                                    bool include_archived) = 0;
  // Saves state, current_stage, stage_succeeded_at, reason, threshold, started_at, finished_at.
  // kNotFound for an unknown id; an archived rollout stays archived (kInvalidArgument), since
  // its devices may already belong to other rollouts.
  [[nodiscard]] virtual Expected<void> UpdateRollout(const Rollout& rollout) = 0;
  // Saves like UpdateRollout, only when the stored rollout's revision is still
  // rollout.revision, i.e. nobody (another request, another server) changed it since it was
  // read. True when saved (the stored revision is then one more); false, changing nothing, when
  // it was changed meanwhile. Errors as UpdateRollout's. (UpdateRollout moves the revision too.)
  [[nodiscard]] virtual Expected<bool> UpdateRolloutIfUnchanged(const Rollout& rollout) = 0;
  // The first offer of the package to a device of a rollout: sets its started_at and
  // updated_at to `now` if it has not started, unless `rate_per_hour` > 0 and that many of the
  // rollout's devices started at or after `since`. Counting and writing are one transaction, so
  // servers answering at the same time never start more than the rate. True when the device has
  // started (now, or before); false when the rate allows no more now.
  [[nodiscard]] virtual Expected<bool> StartRolloutDevice(const RolloutDevice& device,
                                                          std::int64_t rate_per_hour,
                                                          const std::string& since,
                                                          const std::string& now) = 0;
  // Adds devices to a rollout, skipping any device already held by a non-archived rollout of
  // the product (a device is in at most one active rollout per product). Returns how many
  // were added. Atomic with respect to concurrent calls.
  [[nodiscard]] virtual Expected<std::size_t> AddRolloutDevices(
      const std::string& product_uid, const std::vector<RolloutDevice>& devices) = 0;
  // The device's place in the non-archived rollout that holds it, if any.
  [[nodiscard]] virtual Expected<std::optional<RolloutDevice>> FindRolloutDevice(
      std::int64_t device_id) = 0;
  [[nodiscard]] virtual Expected<void> UpdateRolloutDevice(const RolloutDevice& device) = 0;
  // Counts per stage (0 .. stage_count-1) and state.
  [[nodiscard]] virtual Expected<RolloutStats> GetRolloutStats(std::int64_t rollout_id,
                                                               int stage_count) = 0;
  // GetRolloutStats of each rollout, in the same order, read in one query.
  [[nodiscard]] virtual Expected<std::vector<RolloutStats>> GetRolloutStatsOf(
      const std::vector<Rollout>& rollouts) = 0;
  // CountStartedSince of several rollouts in one query: rollout id -> devices (absent: none).
  [[nodiscard]] virtual Expected<std::map<std::int64_t, std::int64_t>> CountStartedSinceOf(
      const std::vector<std::int64_t>& rollout_ids, const std::string& since) = 0;
  // The places in the rollout of those of `device_ids` it has, by device id.
  [[nodiscard]] virtual Expected<std::vector<RolloutDevice>> FindRolloutDevices(
      std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids) = 0;
  // Gives the failed devices of a non-archived rollout a new attempt, in one transaction: back
  // to pending, not offered yet, error cleared, retries + 1. Only those of `device_ids` (every
  // failed device when it is empty). Returns the devices changed.
  [[nodiscard]] virtual Expected<std::vector<std::int64_t>> RetryFailedRolloutDevices(
      std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids,
      const std::string& now) = 0;
  // Of the product's devices `device_ids`, those a non-archived rollout holds, by id.
  [[nodiscard]] virtual Expected<std::vector<std::int64_t>> HeldDevices(
      const std::string& product_uid, const std::vector<std::int64_t>& device_ids) = 0;
  // Devices of the rollout first offered the package at or after `since`.
  [[nodiscard]] virtual Expected<std::int64_t> CountStartedSince(std::int64_t rollout_id,
                                                                 const std::string& since) = 0;
  // The rollout's devices by device id, only those in `state` when given.
  [[nodiscard]] virtual Expected<std::vector<RolloutDevice>> ListRolloutDevices(
      std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
      std::optional<DeviceState> state) = 0;
  [[nodiscard]] Expected<std::vector<RolloutDevice>> ListRolloutDevices(
      std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit) {
    return ListRolloutDevices(rollout_id, after_device_id, limit, std::nullopt);
  }
  // The rollout's devices now updated or failed, counted by the minute of their updated_at,
  // oldest first (at most `limit` minutes: the latest).
  [[nodiscard]] virtual Expected<std::vector<RolloutProgressPoint>> RolloutProgress(
      std::int64_t rollout_id, std::size_t limit) = 0;
  // Like ListRolloutDevices, each with the device's identity, hardware and version.
  [[nodiscard]] virtual Expected<std::vector<RolloutMember>> ListRolloutMembers(
      std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
      std::optional<DeviceState> state) = 0;
};

// How OpenStore sets the store up.
struct OpenStoreOptions {
  // PostgreSQL: the most connections the store opens at once (at least 1). SQLite: unused.
  std::size_t pool_size = 16;
};

// Opens the store named by a URL: "sqlite:PATH" (or a plain path), or "postgresql://..." (or
// "postgres://..."; libpq's connection URI), applying migrations.
[[nodiscard]] Expected<std::unique_ptr<Store>> OpenStore(const std::string& url,
                                                         const OpenStoreOptions& options = {});

}  // namespace uh::server
