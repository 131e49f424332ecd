#pragma once

// One simulated device: a few dozen bytes of state and a pure model of what an UpdateHub agent
// does next. The model knows nothing of HTTP or time: the fleet engine feeds it events (a timer
// fired, a probe was answered, a report was sent, a download ended) and carries out the action
// it returns (wait, probe, report, download). The order of reports and their fields follow our
// agent (src/agent/daemon): downloading, downloaded, installing, installed, rebooting, and an
// error with the status of the failed step as its previous-state.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/hash.hpp"
#include "sim/offer_book.hpp"

namespace uh::sim {

inline constexpr std::uint32_t kNoOffer = 0xffffffff;

// Where a device is; each event moves it along one edge (device.cpp).
enum class Step : std::uint8_t {
  kWaiting,  // for its next probe
  kProbing,
  kReportingDownloading,
  kDownloading,      // an object request in flight (or about to be resumed after a cut)
  kDownloadBackoff,  // waiting to resume after a failed transfer
  kReportingDownloaded,
  kReportingInstalling,
  kReportingInstalled,
  kReportingRebooting,
  kRebootProbing,  // the probe right after booting the new version
  kReportingError,
};

// Steps grouped for progress lines.
enum class Phase : std::uint8_t { kIdle, kProbing, kDownloading, kInstalling, kRebooting };
inline constexpr std::size_t kPhaseCount = 5;
[[nodiscard]] Phase PhaseOf(Step step);
[[nodiscard]] std::string_view PhaseName(Phase phase);

// A device planned to fail fails every update it tries, at the step given here.
enum class PlannedFailure : std::uint8_t { kNone, kInstall, kValidation };

struct DeviceState {
  std::uint64_t random = 0;      // the device's own random stream
  std::uint64_t offset = 0;      // bytes of the current object received so far
  std::uint64_t cut_at = 0;      // the current request is cut once `offset` reaches this; 0: never
  std::unique_ptr<Sha256> hash;  // of the current object's bytes so far
  std::uint32_t index = 0;
  std::uint32_t offer = kNoOffer;    // the update in progress
  std::uint32_t applied = kNoOffer;  // the last package installed
  std::uint32_t errors = 0;          // requests of this device that went wrong
  std::uint16_t version = 0;         // VersionTable id
  std::uint16_t server = 0;          // the engine's: the server its requests go to
  Step step = Step::kWaiting;
  PlannedFailure planned = PlannedFailure::kNone;
  std::uint8_t slot = 0;    // active A/B slot
  std::uint8_t object = 0;  // index of the object being downloaded
  std::uint8_t probe_retries = 0;
  std::uint8_t transfer_failures = 0;
  bool failed = false;     // its last update failed; it runs its old version
  bool probed = false;     // a probe of this device was answered (200 or 404)
  bool announced = false;  // the server has been told the version it runs by a probe
};
// 100,000 devices in a few MiB (a device downloading also holds a hash context on the heap).
static_assert(sizeof(DeviceState) <= 64);

// Events.
struct Started {};
struct Woke {};
struct ProbeAnswer {
  enum class Kind { kNoUpdate, kExtraPoll, kOffer, kFailed };
  Kind kind = Kind::kNoUpdate;
  std::chrono::milliseconds extra_poll{0};  // kExtraPoll
  std::uint32_t offer = kNoOffer;           // kOffer
};
struct ReportSent {};  // whatever the answer: agents ignore it
struct TransferEnded {
  enum class Kind {
    kComplete,        // every byte arrived and the object's sha256 matched
    kCut,             // cut on purpose at DeviceState::cut_at: resume
    kTransportError,  // timeout, reset...: the bytes so far are kept, retried after a delay
    kRefused,         // bad status, bad range, wrong size or hash: the update fails
  };
  Kind kind = Kind::kComplete;
  std::string error;  // kRefused, kTransportError
};
using Event = std::variant<Started, Woke, ProbeAnswer, ReportSent, TransferEnded>;

// Actions.
struct Wait {
  std::chrono::milliseconds delay{0};
};
struct Probe {};
struct Report {
  std::string status;
  std::string previous_state;  // error reports only
  std::string error_message;   // error reports only
};
struct Download {
  const SimObject* object = nullptr;
  std::uint64_t offset = 0;  // "Range: bytes=offset-" when > 0
};
using Action = std::variant<Wait, Probe, Report, Download>;

struct ModelSettings {
  std::chrono::milliseconds poll_interval{std::chrono::seconds(60)};
  std::chrono::milliseconds jitter{0};
  std::chrono::milliseconds retry_base{std::chrono::seconds(1)};
  double interrupt_rate = 0;
  unsigned transfer_attempts = 5;
};

class DeviceModel {
 public:
  DeviceModel(ModelSettings settings, const OfferBook& offers);

  // Moves `device` along for `event` and returns what it does next.
  [[nodiscard]] Action Next(DeviceState& device, const Event& event) const;

  // The objects the device's update in progress downloads.
  [[nodiscard]] const std::vector<SimObject>& ObjectsOf(const DeviceState& device) const;
  [[nodiscard]] const ModelSettings& settings() const { return settings_; }

 private:
  [[nodiscard]] Action OnProbeAnswer(DeviceState& device, const ProbeAnswer& answer) const;
  [[nodiscard]] Action OnReportSent(DeviceState& device) const;
  [[nodiscard]] Action OnTransferEnded(DeviceState& device, const TransferEnded& ended) const;
  [[nodiscard]] Action StartObject(DeviceState& device) const;
  [[nodiscard]] Action RequestObject(DeviceState& device) const;
  [[nodiscard]] Action FailUpdate(DeviceState& device, std::string previous_state,
                                  std::string message) const;
  [[nodiscard]] Action PollLater(DeviceState& device) const;
  // The update is in: the device runs the offer's version and probes at once.
  [[nodiscard]] Action RunNewVersion(DeviceState& device) const;
  [[nodiscard]] std::chrono::milliseconds RetryDelay(DeviceState& device, unsigned failures) const;

  ModelSettings settings_;
  const OfferBook& offers_;
};

// Where a device stands, as the server sees it.
enum class Outcome : std::uint8_t {
  kUnchanged,  // runs its first version, no update under way
  kUpdating,   // an update is under way, or it rebooted and has not told the server yet
  kUpdated,    // runs another version than at the start, and a probe told the server so
  kFailed,     // its last update failed; it runs its old version
};
[[nodiscard]] Outcome OutcomeOf(const DeviceState& device, std::uint16_t start_version);
// Runs `goal` and a probe told the server so.
[[nodiscard]] bool AtGoal(const DeviceState& device, std::uint16_t goal);

// Exactly round(rate * devices) devices fail: those whose seeded hash ranks lowest. Each fails
// at install or at validation, half and half by another seeded coin.
[[nodiscard]] std::vector<PlannedFailure> PlanFailures(std::uint64_t seed, std::uint32_t devices,
                                                       double rate);

// The device's own random stream, derived from the seed and its index.
[[nodiscard]] std::uint64_t DeviceSeed(std::uint64_t seed, std::uint32_t index);

}  // namespace uh::sim
