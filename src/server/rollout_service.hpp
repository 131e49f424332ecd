#pragma once

// The rollout engine over the store: creates and controls rollouts, places devices in stages,
// answers probes with the package a device should install, and moves rollouts along as devices
// report (stage advance, failure threshold, completion). Time and randomness are injected.

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "server/catalog.hpp"
#include "server/model/rollout.hpp"
#include "server/rollout_engine.hpp"
#include "server/store/store.hpp"

namespace uh::server {

class RolloutService final : public RolloutEngine {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Probes read products, keys, packages and rollouts through `catalog` (over the same store).
  RolloutService(Store& store, Catalog& catalog, Clock clock = std::chrono::system_clock::now,
                 std::uint64_t seed = std::random_device{}());

  // How a selection (with the package it would install) matches the product's devices now.
  struct SelectionCount {
    std::int64_t matching = 0;              // what a rollout created now would take
    std::int64_t unsupported_hardware = 0;  // selected, but the package does not support them
    std::int64_t not_accepted = 0;          // selected, but pending or rejected (enrolment)
    std::int64_t newer_version = 0;         // selected, but the product forbids the downgrade
    std::int64_t in_other_rollouts = 0;     // selected, but held by another active rollout
    std::vector<std::int64_t> unknown_ids;  // listed ids that are no device of the product
  };
  // Counts what the definition's selection matches, creating nothing; the database counts,
  // by groups, without the devices being read.
  [[nodiscard]] Expected<SelectionCount> Preview(const std::string& product_uid,
                                                 const Rollout& definition);

  // Creates a rollout of one of the product's packages. Without start_at, or with one that has
  // passed, it starts at once. Listed device ids that are no device of the product are
  // refused, and so is a selection matching no device unless `allow_empty` (devices that match
  // a filter later join at their next probe).
  [[nodiscard]] Expected<Rollout> Create(const std::string& product_uid, Rollout definition,
                                         bool allow_empty = true);
  // start, pause, resume, stop, advance, by `actor` (a user name, recorded in the reason).
  // `body` may carry a new failure_threshold for resume.
  [[nodiscard]] Expected<Rollout> Control(std::int64_t id, std::string_view action,
                                          const nlohmann::json& body,
                                          const std::string& actor = "a user");
  // Gives failed devices of a running or paused rollout a new attempt: they go back to
  // pending, so that their next probe is offered the package again (through the window and
  // the rate limit, as a first attempt). `device_ids` empty: every failed device. Refused,
  // changing nothing: ids that are no device of the rollout (kInvalidArgument), listed devices
  // that have not failed, no failed device at all, a scheduled or archived rollout
  // (kAlreadyExists). A paused rollout stays paused; its failures now count without these.
  struct Retried {
    Rollout rollout;
    std::vector<std::int64_t> device_ids;
  };
  [[nodiscard]] Expected<Retried> Retry(std::int64_t id,
                                        const std::vector<std::int64_t>& device_ids);
  [[nodiscard]] Expected<RolloutStats> Stats(std::int64_t id);
  [[nodiscard]] Expected<RolloutStats> Stats(const Rollout& rollout);
  // Why the rollout waits now (rollout_rules.hpp HoldReason), or nullopt.
  [[nodiscard]] Expected<std::optional<std::string>> HoldReasonOf(const Rollout& rollout,
                                                                  const RolloutStats& stats);
  // Statistics and hold reasons of many rollouts (a list), each kind read in one query.
  struct Progress {
    RolloutStats stats;
    std::optional<std::string> hold_reason;
  };
  [[nodiscard]] Expected<std::vector<Progress>> ProgressOf(const std::vector<Rollout>& rollouts);
  // The engine's clock (injected in tests), for answers that must agree with it.
  [[nodiscard]] std::chrono::system_clock::time_point CurrentTime() const { return clock_(); }
  // Time-driven transitions: scheduled starts, soak times. Called periodically.
  [[nodiscard]] Expected<void> Tick();

  [[nodiscard]] Expected<ProbeAnswer> OnProbe(const Device& device,
                                              const ProbeState& state) override;
  [[nodiscard]] Expected<void> OnReport(const Device& device, const ReportRequest& report) override;

 private:
  [[nodiscard]] std::string Now() const;
  [[nodiscard]] Expected<Rollout> Load(std::int64_t id);
  // Adds the selected devices and saves the rollout as running; false when it changed
  // meanwhile (another server started it first).
  [[nodiscard]] Expected<bool> Start(Rollout& rollout);
  // Saves the rollout over the revision it was read at (Store::UpdateRolloutIfUnchanged);
  // false when another request or server changed it since.
  [[nodiscard]] Expected<bool> Save(Rollout& rollout);
  // Reads the rollout again after a change was refused for that; an error after kMaxConflicts.
  [[nodiscard]] Expected<void> Reload(Rollout& rollout, int& conflicts);
  // One try of Control on the rollout as read: false when it changed before the save.
  [[nodiscard]] Expected<bool> ControlOnce(Rollout& rollout, std::string_view action,
                                           const nlohmann::json& body, const std::string& actor);
  [[nodiscard]] Expected<void> Evaluate(Rollout& rollout);
  // Places a device in no rollout in the first running rollout whose filter selects it.
  [[nodiscard]] Expected<std::optional<RolloutDevice>> Join(const Device& device,
                                                            std::int64_t catalog_version);
  struct Selected {
    std::vector<Device> devices;  // selected by the rollout, of hardware the package supports
    bool forbid_downgrades = false;
    SelectionCount count;  // the devices left out, and listed ids the product does not have
  };
  [[nodiscard]] Expected<Selected> SelectedDevices(const Rollout& rollout, const Package& package);
  // The package `package_uid` of the product; kNotFound when the product has no such package.
  [[nodiscard]] Expected<Package> PackageOf(const std::string& product_uid,
                                            const std::string& package_uid);
  // Whether installing `package` would take `device` to an older version (uh::CompareVersions).
  [[nodiscard]] static bool IsDowngrade(const Package& package, const Device& device);
  // Whether the key that signed `package` is no longer registered for its product.
  [[nodiscard]] Expected<bool> KeyRevoked(const Package& package);
  // The same, read through the catalog at `catalog_version` (probes).
  [[nodiscard]] Expected<bool> KeyRevokedAt(const Package& package, std::int64_t catalog_version);
  // Pauses a rollout: by `actor`, or by the server (actor "") saying `reason`.
  void Pause(Rollout& rollout, const std::string& actor, std::string reason);
  // Pauses a rollout whose package's key is gone, saying so.
  [[nodiscard]] Expected<void> PauseForKey(Rollout& rollout);

  static constexpr const char* kKeyGone =
      "the key that signed the package was deleted: upload the package signed with a registered "
      "key, then resume";

  Store& store_;
  Catalog& catalog_;
  Clock clock_;
  std::mt19937_64 random_;
  // Guards random_ only. Rollout transitions are conditional writes in the store (a rollout is
  // saved over the revision it was read at, a device's first offer takes the rate's slot in
  // the same transaction), so that requests of this server and of others sharing the database
  // run at once and never exceed a quota or overwrite each other's change.
  std::mutex random_mutex_;
  static constexpr int kMaxConflicts = 16;
};

}  // namespace uh::server
