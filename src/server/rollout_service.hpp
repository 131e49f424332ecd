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

#include "server/model/rollout.hpp"
#include "server/rollout_engine.hpp"
#include "server/store/store.hpp"

namespace uh::server {

class RolloutService final : public RolloutEngine {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  explicit RolloutService(Store& store, Clock clock = std::chrono::system_clock::now,
                          std::uint64_t seed = std::random_device{}());

  // Creates a rollout of one of the product's packages. Without start_at it starts at once.
  [[nodiscard]] Expected<Rollout> Create(const std::string& product_uid, Rollout definition);
  // start, pause, resume, stop, advance. `body` may carry a new failure_threshold for resume.
  [[nodiscard]] Expected<Rollout> Control(std::int64_t id, std::string_view action,
                                          const nlohmann::json& body);
  [[nodiscard]] Expected<RolloutStats> Stats(std::int64_t id);
  // Time-driven transitions: scheduled starts, soak times. Called periodically.
  [[nodiscard]] Expected<void> Tick();

  [[nodiscard]] Expected<ProbeAnswer> OnProbe(const Device& device) override;
  [[nodiscard]] Expected<void> OnReport(const Device& device, const ReportRequest& report) override;

 private:
  [[nodiscard]] std::string Now() const;
  [[nodiscard]] Expected<Rollout> Load(std::int64_t id);
  [[nodiscard]] Expected<void> Start(Rollout& rollout);
  [[nodiscard]] Expected<void> Evaluate(Rollout& rollout);
  [[nodiscard]] Expected<std::optional<RolloutDevice>> Join(const Device& device);
  struct Selected {
    std::vector<Device> devices;  // selected by the rollout, of hardware the package supports
    bool forbid_downgrades = false;
  };
  [[nodiscard]] Expected<Selected> SelectedDevices(const Rollout& rollout, const Package& package);
  // Whether installing `package` would take `device` to an older version (uh::CompareVersions).
  [[nodiscard]] static bool IsDowngrade(const Package& package, const Device& device);
  // Whether the key that signed `package` is no longer registered for its product.
  [[nodiscard]] Expected<bool> KeyRevoked(const Package& package);
  // Pauses a rollout whose package's key is gone, saying so.
  [[nodiscard]] Expected<void> PauseForKey(Rollout& rollout);

  static constexpr const char* kKeyGone =
      "the key that signed the package was deleted: upload the package signed with a registered "
      "key, then resume";

  Store& store_;
  Clock clock_;
  std::mt19937_64 random_;
  // One engine per process: rollout transitions are serialised here.
  std::mutex mutex_;
};

}  // namespace uh::server
