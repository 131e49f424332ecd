#pragma once

// The PostgreSQL backend of the Store, for fleets that outgrow one server: several server
// processes share one database. The schema is SQLite's, with the same migration versions
// (migrations/postgresql); writes are SERIALIZABLE transactions, retried when they conflict
// (pool.hpp), so every server sees the same truth. Sources: postgres_store.cpp (opening),
// postgres_store_catalog.cpp (products, keys, packages), postgres_store_people.cpp (users,
// tokens, audit), postgres_store_devices.cpp (devices, reports, search, history, selection),
// postgres_store_rollouts.cpp (rollouts and their devices).

#include <memory>
#include <string>

#include "server/store/store.hpp"

namespace uh::server {

namespace pg {
class ConnectionPool;
}

class PostgresStore final : public Store {
 public:
  // Connects to the database at `url` (a libpq connection URI or string) and applies missing
  // migrations under an advisory lock, so that servers starting together migrate once.
  // Fails with kUnsupported if the schema is newer than this binary.
  // `pool_size`: the most connections open at once (at least 1).
  [[nodiscard]] static Expected<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                                     std::size_t pool_size = 16);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  [[nodiscard]] Expected<Product> CreateProduct(const Product& product) override;
  [[nodiscard]] Expected<std::optional<Product>> GetProduct(const std::string& uid) override;
  [[nodiscard]] Expected<std::vector<Product>> ListProducts() override;
  [[nodiscard]] Expected<bool> SetDeviceTokenHash(const std::string& uid,
                                                  const std::string& token_hash) override;
  [[nodiscard]] Expected<bool> SetForbidDowngrades(const std::string& uid, bool forbid) override;

  [[nodiscard]] Expected<SigningKey> AddKey(const SigningKey& key) override;
  [[nodiscard]] Expected<std::vector<SigningKey>> ListKeys(const std::string& product_uid) override;
  [[nodiscard]] Expected<bool> DeleteKey(std::int64_t id) override;

  [[nodiscard]] Expected<bool> InsertPackage(const Package& package) override;
  [[nodiscard]] Expected<bool> UpdatePackageSignature(const std::string& uid,
                                                      const std::string& signature,
                                                      std::int64_t key_id) override;
  [[nodiscard]] Expected<AuditEntry> AppendAudit(const AuditEntry& entry) override;
  [[nodiscard]] Expected<std::vector<AuditEntry>> FindAudit(const AuditFilter& filter) override;
  [[nodiscard]] Expected<std::vector<AuditEntry>> ListAuditAfter(std::int64_t after_id,
                                                                 std::size_t limit) override;
  [[nodiscard]] Expected<std::optional<Package>> GetPackage(const std::string& uid) override;
  [[nodiscard]] Expected<std::vector<Package>> ListPackages(
      const std::string& product_uid) override;
  [[nodiscard]] Expected<bool> DeletePackage(const std::string& uid) override;
  [[nodiscard]] Expected<bool> ObjectInUse(const std::string& sha256) override;

  [[nodiscard]] Expected<Device> UpsertDevice(const DeviceProbe& probe) override;
  [[nodiscard]] Expected<std::optional<Device>> GetDevice(std::int64_t id) override;
  [[nodiscard]] Expected<std::optional<Device>> FindDevice(const std::string& product_uid,
                                                           const std::string& identity) override;
  [[nodiscard]] Expected<ProbeLookup> LookupProbe(const std::string& product_uid,
                                                  const std::string& identity) override;
  [[nodiscard]] Expected<std::int64_t> CatalogVersion() override;
  [[nodiscard]] Expected<std::vector<Device>> ListDevices(const DeviceFilter& filter) override;
  [[nodiscard]] Expected<std::int64_t> CountDevices(const DeviceFilter& filter) override;
  [[nodiscard]] Expected<DeviceOverview> GetDeviceOverview(
      const std::optional<std::string>& product_uid, const OverviewTimes& times) override;
  [[nodiscard]] Expected<std::vector<DeviceFailure>> LatestFailures(
      const std::optional<std::string>& product_uid, std::size_t limit) override;
  [[nodiscard]] Expected<void> TouchDevices(const std::vector<DeviceSeen>& seen) override;
  [[nodiscard]] Expected<SelectionCounts> CountSelection(const std::string& product_uid,
                                                         const Selection& selection) override;
  [[nodiscard]] Expected<std::vector<DeviceVersion>> ListDeviceVersions(std::int64_t device_id,
                                                                        std::int64_t before_id,
                                                                        std::size_t limit) override;
  [[nodiscard]] Expected<std::vector<DeviceRollout>> ListDeviceRollouts(
      std::int64_t device_id, std::int64_t before_rollout_id, std::size_t limit) override;
  // Device authentication.
  [[nodiscard]] Expected<bool> SetProductDeviceAuth(const std::string& uid,
                                                    const std::string& device_auth,
                                                    const std::string& enrolment,
                                                    const std::string& client_ca) override;
  [[nodiscard]] Expected<std::optional<Device>> CreateDevice(
      const DeviceProbe& probe, const std::string& auth_state,
      const std::string& token_hash) override;
  [[nodiscard]] Expected<bool> SetDeviceAuthState(std::int64_t id,
                                                  const std::string& auth_state) override;
  [[nodiscard]] Expected<bool> SetDeviceSecretHash(std::int64_t id,
                                                   const std::string& token_hash) override;
  [[nodiscard]] Expected<std::optional<Device>> FindDeviceBySecretHash(
      const std::string& product_uid, const std::string& token_hash) override;

  [[nodiscard]] Expected<Report> InsertReport(const Report& report) override;
  [[nodiscard]] Expected<RecordedReport> RecordReport(const DeviceProbe& probe,
                                                      const Report& report) override;
  [[nodiscard]] Expected<std::vector<Report>> FindReports(const ReportFilter& filter) override;

  [[nodiscard]] Expected<User> CreateUser(const User& user) override;
  [[nodiscard]] Expected<std::optional<User>> FindUser(const std::string& name) override;
  [[nodiscard]] Expected<std::size_t> CountUsers() override;
  [[nodiscard]] Expected<std::optional<User>> GetUser(std::int64_t id) override;
  [[nodiscard]] Expected<std::vector<User>> ListUsers() override;
  [[nodiscard]] Expected<bool> SetUserPassword(std::int64_t id,
                                               const std::string& password_hash) override;
  [[nodiscard]] Expected<bool> DeleteUser(std::int64_t id) override;
  [[nodiscard]] Expected<void> DeleteUserTokens(std::int64_t user_id) override;
  [[nodiscard]] Expected<void> InsertToken(const Token& token) override;
  [[nodiscard]] Expected<std::optional<Token>> FindToken(const std::string& token_hash,
                                                         const std::string& now) override;
  [[nodiscard]] Expected<bool> DeleteToken(const std::string& token_hash) override;
  [[nodiscard]] Expected<std::vector<Token>> ListTokens(std::int64_t user_id) override;
  [[nodiscard]] Expected<void> TouchToken(const std::string& token_hash,
                                          const std::string& at) override;
  [[nodiscard]] Expected<bool> SetUserRole(std::int64_t id, const std::string& role,
                                           const std::vector<std::string>& products) override;
  [[nodiscard]] Expected<std::optional<SigningKey>> GetKey(std::int64_t id) override;

  [[nodiscard]] Expected<bool> HoldLease(const std::string& name, const std::string& holder,
                                         std::int64_t duration_ms) override;
  [[nodiscard]] Expected<void> ReleaseLease(const std::string& name,
                                            const std::string& holder) override;
  [[nodiscard]] Expected<Rollout> CreateRollout(const Rollout& rollout) override;
  [[nodiscard]] Expected<std::optional<Rollout>> GetRollout(std::int64_t id) override;
  [[nodiscard]] Expected<std::vector<Rollout>> ListRollouts(const std::string& product_uid,
                                                            bool include_archived) override;
  [[nodiscard]] Expected<void> UpdateRollout(const Rollout& rollout) override;
  [[nodiscard]] Expected<bool> UpdateRolloutIfUnchanged(const Rollout& rollout) override;
  [[nodiscard]] Expected<bool> StartRolloutDevice(const RolloutDevice& device,
                                                  std::int64_t rate_per_hour,
                                                  const std::string& since,
                                                  const std::string& now) override;
  [[nodiscard]] Expected<std::size_t> AddRolloutDevices(
      const std::string& product_uid, const std::vector<RolloutDevice>& devices) override;
  [[nodiscard]] Expected<std::optional<RolloutDevice>> FindRolloutDevice(
      std::int64_t device_id) override;
  [[nodiscard]] Expected<void> UpdateRolloutDevice(const RolloutDevice& device) override;
  [[nodiscard]] Expected<RolloutStats> GetRolloutStats(std::int64_t rollout_id,
                                                       int stage_count) override;
  [[nodiscard]] Expected<std::int64_t> CountStartedSince(std::int64_t rollout_id,
                                                         const std::string& since) override;
  [[nodiscard]] Expected<std::vector<RolloutStats>> GetRolloutStatsOf(
      const std::vector<Rollout>& rollouts) override;
  [[nodiscard]] Expected<std::map<std::int64_t, std::int64_t>> CountStartedSinceOf(
      const std::vector<std::int64_t>& rollout_ids, const std::string& since) override;
  [[nodiscard]] Expected<std::vector<RolloutDevice>> FindRolloutDevices(
      std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids) override;
  [[nodiscard]] Expected<std::vector<std::int64_t>> RetryFailedRolloutDevices(
      std::int64_t rollout_id, const std::vector<std::int64_t>& device_ids,
      const std::string& now) override;
  [[nodiscard]] Expected<std::vector<std::int64_t>> HeldDevices(
      const std::string& product_uid, const std::vector<std::int64_t>& device_ids) override;
  using Store::ListRolloutDevices;
  [[nodiscard]] Expected<std::vector<RolloutDevice>> ListRolloutDevices(
      std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
      std::optional<DeviceState> state) override;
  [[nodiscard]] Expected<std::vector<RolloutProgressPoint>> RolloutProgress(
      std::int64_t rollout_id, std::size_t limit) override;
  [[nodiscard]] Expected<std::vector<RolloutMember>> ListRolloutMembers(
      std::int64_t rollout_id, std::int64_t after_device_id, std::size_t limit,
      std::optional<DeviceState> state) override;

 private:
  explicit PostgresStore(std::unique_ptr<pg::ConnectionPool> pool);
  std::unique_ptr<pg::ConnectionPool> pool_;
};

}  // namespace uh::server
