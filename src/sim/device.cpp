#include "sim/device.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sim/random.hpp"

namespace uh::sim {
namespace {

using std::chrono::milliseconds;

// Salts that separate the random streams drawn from one seed.
constexpr std::uint64_t kFailureRankSalt = 0x6661696c;  // "fail"
constexpr std::uint64_t kFailureKindSalt = 0x6b696e64;  // "kind"
constexpr std::uint64_t kDeviceSalt = 0x64657669;       // "devi"

}  // namespace

Phase PhaseOf(Step step) {
  switch (step) {
    case Step::kWaiting:
      return Phase::kIdle;
    case Step::kProbing:
      return Phase::kProbing;
    case Step::kReportingDownloading:
    case Step::kDownloading:
    case Step::kDownloadBackoff:
    case Step::kReportingDownloaded:
      return Phase::kDownloading;
    case Step::kReportingInstalling:
    case Step::kReportingInstalled:
    case Step::kReportingError:
      return Phase::kInstalling;
    case Step::kReportingRebooting:
    case Step::kRebootProbing:
      return Phase::kRebooting;
  }
  return Phase::kIdle;
}

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kIdle:
      return "idle";
    case Phase::kProbing:
      return "probing";
    case Phase::kDownloading:
      return "downloading";
    case Phase::kInstalling:
      return "installing";
    case Phase::kRebooting:
      return "rebooting";
  }
  return "?";
}

DeviceModel::DeviceModel(ModelSettings settings, const OfferBook& offers)
    : settings_(settings), offers_(offers) {}

const std::vector<SimObject>& DeviceModel::ObjectsOf(const DeviceState& device) const {
  return offers_.at(device.offer).objects_by_active_slot[device.slot & 1];
}

Action DeviceModel::Next(DeviceState& device, const Event& event) const {
  if (std::holds_alternative<Started>(event)) {
    // A fleet that powers on together must not probe together: the first probe comes at a
    // random point of the jitter window.
    device.step = Step::kWaiting;
    const auto window = static_cast<std::uint64_t>(settings_.jitter.count()) + 1;
    return Wait{milliseconds(static_cast<std::int64_t>(Below(NextRandom(device.random), window)))};
  }
  if (std::holds_alternative<Woke>(event)) {
    if (device.step == Step::kDownloadBackoff) {
      device.step = Step::kDownloading;
      return RequestObject(device);
    }
    device.step = Step::kProbing;
    return Probe{};
  }
  if (const auto* answer = std::get_if<ProbeAnswer>(&event)) return OnProbeAnswer(device, *answer);
  if (std::holds_alternative<ReportSent>(event)) return OnReportSent(device);
  return OnTransferEnded(device, std::get<TransferEnded>(event));
}

Action DeviceModel::OnProbeAnswer(DeviceState& device, const ProbeAnswer& answer) const {
  using Kind = ProbeAnswer::Kind;
  device.step = Step::kWaiting;
  if (answer.kind == Kind::kFailed) {
    device.probe_retries = static_cast<std::uint8_t>(std::min(device.probe_retries + 1, 255));
    return Wait{RetryDelay(device, device.probe_retries)};
  }
  device.probe_retries = 0;
  device.probed = true;
  device.announced = true;
  if (answer.kind == Kind::kNoUpdate) return PollLater(device);
  if (answer.kind == Kind::kExtraPoll) return Wait{std::max(answer.extra_poll, milliseconds(0))};

  const Offer& offer = offers_.at(answer.offer);
  if (answer.offer == device.applied) return PollLater(device);  // already installed
  device.offer = answer.offer;
  // Offered again after a failure (the server gave it a new attempt): it is updating, not
  // failed, until this attempt ends; a fleet waiting for every device to end waits for it.
  device.failed = false;
  if (offer.problem)
    return FailUpdate(device, "validation", "package " + offer.package_uid + ": " + *offer.problem);
  device.object = 0;
  device.transfer_failures = 0;
  device.step = Step::kReportingDownloading;
  return Report{"downloading", "", ""};
}

Action DeviceModel::RunNewVersion(DeviceState& device) const {
  device.version = offers_.at(device.offer).version;
  device.applied = device.offer;
  device.offer = kNoOffer;
  device.failed = false;
  device.announced = false;
  // After a validated boot (or an install in place) the agent probes at once: that probe tells
  // the server the new version.
  device.step = Step::kRebootProbing;
  return Probe{};
}

Action DeviceModel::OnReportSent(DeviceState& device) const {
  switch (device.step) {
    case Step::kReportingDownloading:
      device.step = Step::kDownloading;
      return StartObject(device);
    case Step::kReportingDownloaded:
      device.step = Step::kReportingInstalling;
      return Report{"installing", "", ""};
    case Step::kReportingInstalling:
      if (device.planned == PlannedFailure::kInstall) {
        return FailUpdate(device, "installing",
                          "simulated install failure (planned from the seed)");
      }
      device.step = Step::kReportingInstalled;
      return Report{"installed", "", ""};
    case Step::kReportingInstalled:
      // Installed over the running system: no reboot, no slot switch.
      if (offers_.at(device.offer).in_place) return RunNewVersion(device);
      device.step = Step::kReportingRebooting;
      return Report{"rebooting", "", ""};
    case Step::kReportingRebooting: {
      // The reboot. A device planned to fail at validation boots the new slot, its
      // validate-callback fails, and it switches back: it reports and keeps its old version.
      if (device.planned == PlannedFailure::kValidation) {
        return FailUpdate(device, "rebooting",
                          "validate-callback: simulated validation failure (planned from the "
                          "seed); rolled back to slot " +
                              std::to_string(device.slot));
      }
      device.slot ^= 1;
      return RunNewVersion(device);
    }
    case Step::kReportingError:
      device.offer = kNoOffer;
      device.failed = true;
      device.step = Step::kWaiting;
      // A failed update is not retried in a loop: the next probe waits for its time.
      return PollLater(device);
    default:
      // Not waiting for a report: nothing to do but carry on polling.
      device.step = Step::kWaiting;
      return PollLater(device);
  }
}

Action DeviceModel::OnTransferEnded(DeviceState& device, const TransferEnded& ended) const {
  using Kind = TransferEnded::Kind;
  const auto& objects = ObjectsOf(device);
  switch (ended.kind) {
    case Kind::kComplete:
      device.transfer_failures = 0;
      device.hash.reset();
      if (++device.object < objects.size()) return StartObject(device);
      device.step = Step::kReportingDownloaded;
      return Report{"downloaded", "", ""};
    case Kind::kCut:
      return RequestObject(device);
    case Kind::kTransportError:
      if (++device.transfer_failures < settings_.transfer_attempts) {
        device.step = Step::kDownloadBackoff;
        return Wait{RetryDelay(device, device.transfer_failures)};
      }
      return FailUpdate(
          device, "downloading",
          "downloading object " + objects.at(device.object).sha256 + ": " + ended.error);
    case Kind::kRefused:
      return FailUpdate(
          device, "downloading",
          "downloading object " + objects.at(device.object).sha256 + ": " + ended.error);
  }
  return PollLater(device);
}

Action DeviceModel::StartObject(DeviceState& device) const {
  device.offset = 0;
  device.hash = std::make_unique<Sha256>();
  return RequestObject(device);
}

Action DeviceModel::RequestObject(DeviceState& device) const {
  const SimObject& object = ObjectsOf(device).at(device.object);
  device.cut_at = 0;
  // A cut needs at least one byte before it and one after it.
  const std::uint64_t remaining = object.size - std::min(object.size, device.offset);
  if (remaining >= 2 && settings_.interrupt_rate > 0 &&
      UnitInterval(NextRandom(device.random)) < settings_.interrupt_rate) {
    device.cut_at = device.offset + 1 + Below(NextRandom(device.random), remaining - 1);
  }
  return Download{&object, device.offset};
}

Action DeviceModel::FailUpdate(DeviceState& device, std::string previous_state,
                               std::string message) const {
  device.hash.reset();
  device.offset = 0;
  device.cut_at = 0;
  device.step = Step::kReportingError;
  return Report{"error", std::move(previous_state), std::move(message)};
}

Action DeviceModel::PollLater(DeviceState& device) const {
  return Wait{Spread(settings_.poll_interval, settings_.jitter, device.random)};
}

milliseconds DeviceModel::RetryDelay(DeviceState& device, unsigned failures) const {
  // Exponential back-off from the retry base, capped at the poll interval, spread by 10%.
  const auto cap = settings_.poll_interval;
  const auto base = std::min(settings_.retry_base, cap);
  const unsigned shift = std::min(failures == 0 ? 0U : failures - 1, 20U);
  const auto delay = std::min<milliseconds>(base * (1LL << shift), cap);
  return Spread(delay, delay / 10, device.random);
}

Outcome OutcomeOf(const DeviceState& device, std::uint16_t start_version) {
  if (device.failed) return Outcome::kFailed;
  if (device.offer != kNoOffer) return Outcome::kUpdating;
  if (device.version == start_version) return Outcome::kUnchanged;
  return device.announced ? Outcome::kUpdated : Outcome::kUpdating;
}

bool AtGoal(const DeviceState& device, std::uint16_t goal) {
  return !device.failed && device.offer == kNoOffer && device.version == goal && device.announced;
}

std::vector<PlannedFailure> PlanFailures(std::uint64_t seed, std::uint32_t devices, double rate) {
  std::vector<PlannedFailure> plan(devices, PlannedFailure::kNone);
  const auto count = static_cast<std::size_t>(
      std::llround(std::clamp(rate, 0.0, 1.0) * static_cast<double>(devices)));
  if (count == 0) return plan;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> ranks(devices);
  for (std::uint32_t i = 0; i < devices; ++i) {
    ranks[i] = {MixRandom(seed ^ kFailureRankSalt, i), i};
  }
  std::nth_element(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(count - 1),
                   ranks.end());
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint32_t index = ranks[k].second;
    plan[index] = (MixRandom(seed ^ kFailureKindSalt, index) & 1) != 0
                      ? PlannedFailure::kInstall
                      : PlannedFailure::kValidation;
  }
  return plan;
}

std::uint64_t DeviceSeed(std::uint64_t seed, std::uint32_t index) {
  return MixRandom(seed ^ kDeviceSalt, index);
}

}  // namespace uh::sim
