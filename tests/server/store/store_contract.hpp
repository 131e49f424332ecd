#pragma once

// The storage contract test suite: written against the Store interface only, so that every
// backend runs the same tests. A backend instantiates it with a factory of StoreHarness:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
//                            ::testing::Values(StoreBackend{"Sqlite", MakeSqliteHarness}),
//                            BackendName);

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/store/store.hpp"

namespace uh::server::testing {

// One fresh database of a backend.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  // Opens the database; again after the previous store was destroyed, the same database.
  [[nodiscard]] virtual Expected<std::unique_ptr<Store>> Open() = 0;
  // Adds a rollout row behind the store's back, as the rollout engine will.
  virtual void InsertRollout(const std::string& package_uid, const std::string& state) = 0;
};

struct StoreBackend {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>()> make;
};

inline void PrintTo(const StoreBackend& backend, std::ostream* out) { *out << backend.name; }

inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

// Strings that break SQL built by concatenation, and text beyond ASCII.
inline const std::vector<std::string>& HostileStrings() {
  static const std::vector<std::string> kStrings = {
      "'; DROP TABLE devices; --",
      "Robert'); DROP TABLE users;--",
      R"("double" 'single' `back` \backslash)",
      "?1 ?2 :name @name $name %_ LIKE",
      "ünïcødé ✓ 日本語 🚀 \t\r\n end",
  };
  return kStrings;
}

// A 64 hex digit identifier made from a number.
[[nodiscard]] std::string Hex64(std::uint64_t n);
[[nodiscard]] Product MakeProduct(std::uint64_t n);
// A package of `product_uid` with two objects, one of them shared by every package.
[[nodiscard]] Package MakePackage(const std::string& product_uid, std::uint64_t n);
[[nodiscard]] DeviceProbe MakeProbe(const std::string& product_uid, const std::string& serial);
// A scheduled rollout with a filter, three stages, a threshold and a maintenance window.
[[nodiscard]] Rollout MakeRollout(const std::string& product_uid, const std::string& package_uid);
// Pending members of a rollout, one for each device id.
[[nodiscard]] std::vector<RolloutDevice> Members(std::int64_t rollout_id,
                                                 const std::vector<std::int64_t>& device_ids);
// The rollout that holds the device now (FindRolloutDevice), or 0.
[[nodiscard]] std::int64_t HolderOf(Store& store, std::int64_t device_id);
// Whether `time` looks like "2026-11-22T12:00:00Z".
[[nodiscard]] bool IsUtcTime(const std::string& time);

// The value of `result`; on error, a test failure with its message and a default value.
template <typename T>
[[nodiscard]] T Ok(Expected<T> result) {
  if (!result) {
    ADD_FAILURE() << result.error().message();
    return T{};
  }
  return std::move(*result);
}

// Every field, for comparisons with readable failure messages.
inline auto Fields(const Product& p) {
  return std::tie(p.uid, p.name, p.created_at, p.device_token_hash, p.forbid_downgrades);
}
inline auto Fields(const SigningKey& k) {
  return std::tie(k.id, k.product_uid, k.name, k.public_pem, k.fingerprint, k.created_at);
}
inline auto Fields(const Device& d) {
  return std::tie(d.id, d.product_uid, d.identity, d.attributes, d.hardware, d.version, d.last_seen,
                  d.created_at);
}
inline auto Fields(const Report& r) {
  return std::tie(r.id, r.device_id, r.package_uid, r.status, r.previous_state, r.error_message,
                  r.current_log, r.created_at);
}
inline auto Fields(const User& u) {
  return std::tie(u.id, u.name, u.password_hash, u.role, u.products, u.created_at);
}
inline auto Fields(const Token& t) {
  return std::tie(t.token_hash, t.user_id, t.kind, t.name, t.expires_at, t.created_at, t.scopes,
                  t.last_used_at);
}
// Selection and plan as the JSON the store keeps, which holds every one of their fields.
inline auto Fields(const Rollout& r) {
  return std::make_tuple(r.id, r.product_uid, r.package_uid, r.name,
                         std::string(RolloutStateName(r.state)), SelectionJson(r.selection).dump(),
                         PlanJson(r).dump(), r.start_at, r.current_stage, r.stage_succeeded_at,
                         r.reason, r.created_at, r.started_at, r.finished_at, r.paused_by,
                         r.paused_at);
}
inline auto Fields(const RolloutDevice& d) {
  return std::make_tuple(d.rollout_id, d.device_id, d.stage, std::string(DeviceStateName(d.state)),
                         d.error_message, d.started_at, d.updated_at, d.retries);
}
// Objects compared as a set: backends may return them in any order.
[[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> ObjectSet(const Package& p);
inline auto Fields(const Package& p) {
  return std::make_tuple(p.uid, p.product_uid, p.version, p.metadata, p.signature,
                         p.supported_hardware, p.size, p.key_id, p.created_at, ObjectSet(p));
}

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  // Closes the store and opens the same database again.
  void Reopen();
  Store& store() { return *store_; }
  StoreHarness& harness() { return *harness_; }
  // Creates product `n`, failing the test if that does not work.
  Product AddProduct(std::uint64_t n);
  // Stores MakePackage(product_uid, n), failing the test if that does not work.
  Package AddPackage(const std::string& product_uid, std::uint64_t n);
  // Records `count` devices of the product ("<prefix>0", ...) and returns their ids.
  std::vector<std::int64_t> AddDevices(const std::string& product_uid, int count,
                                       const std::string& prefix = "d");
  // Creates MakeRollout(product, package) in `state`, failing the test if that does not work.
  Rollout AddRollout(const std::string& product_uid, const std::string& package_uid,
                     RolloutState state = RolloutState::kRunning);

 private:
  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<Store> store_;
};

}  // namespace uh::server::testing

// Unwraps an Expected in a test, failing it with the error's message.
#define UH_ASSERT_OK_AND_ASSIGN(var, expr)                           \
  auto var##_expected_ = (expr);                                     \
  ASSERT_TRUE(var##_expected_) << var##_expected_.error().message(); \
  auto var = std::move(*var##_expected_)
