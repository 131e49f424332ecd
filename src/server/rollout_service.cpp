#include "server/rollout_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/version.hpp"
#include "server/auth.hpp"
#include "server/device_auth.hpp"
#include "server/rollout_rules.hpp"

namespace uh::server {
namespace {

bool SupportsHardware(const Package& package, const std::string& hardware) {
  const auto value = nlohmann::json::parse(package.supported_hardware, nullptr, false);
  if (value.is_string()) return value.get<std::string>() == "any";
  if (!value.is_array()) return false;
  return std::find(value.begin(), value.end(), hardware) != value.end();
}

Error Conflict(const std::string& message) { return Error(Errc::kAlreadyExists, message); }

}  // namespace

RolloutService::RolloutService(Store& store, Catalog& catalog, Clock clock, std::uint64_t seed)
    : store_(store), catalog_(catalog), clock_(std::move(clock)), random_(seed) {}

std::string RolloutService::Now() const { return FormatTime(clock_()); }

Expected<Rollout> RolloutService::Load(std::int64_t id) {
  auto rollout = store_.GetRollout(id);
  if (!rollout) return std::unexpected(rollout.error());
  if (!*rollout) return Fail(Errc::kNotFound, "unknown rollout " + std::to_string(id));
  return std::move(**rollout);
}

bool RolloutService::IsDowngrade(const Package& package, const Device& device) {
  return CompareVersions(package.version, device.version) < 0;
}

Expected<RolloutService::Selected> RolloutService::SelectedDevices(const Rollout& rollout,
                                                                   const Package& package) {
  Selected out;
  auto product = store_.GetProduct(rollout.product_uid);
  if (!product) return std::unexpected(product.error());
  out.forbid_downgrades = *product && (*product)->forbid_downgrades;
  std::set<std::int64_t> unseen(rollout.selection.device_ids.begin(),
                                rollout.selection.device_ids.end());
  DeviceFilter filter;
  filter.product_uid = rollout.product_uid;
  filter.limit = 1000;
  for (;;) {
    auto page = store_.ListDevices(filter);
    if (!page) return std::unexpected(page.error());
    for (const auto& device : *page) {
      unseen.erase(device.id);
      if (!Selects(rollout.selection, device)) continue;
      // A device waiting for acceptance (or rejected) is in no rollout: it would hold a stage
      // back. Accepted, it joins a filter's rollout at its next probe.
      if (device.auth_state != kDeviceAccepted) {
        ++out.count.not_accepted;
      } else if (!SupportsHardware(package, device.hardware)) {
        ++out.count.unsupported_hardware;
      } else {
        out.devices.push_back(device);
      }
    }
    if (page->size() < filter.limit) break;
    filter.after_id = page->back().id;
  }
  out.count.unknown_ids.assign(unseen.begin(), unseen.end());
  // Devices another rollout holds are skipped when this one starts (a device is in one active
  // rollout per product): they are not what it would take.
  std::vector<std::int64_t> ids;
  ids.reserve(out.devices.size());
  for (const auto& device : out.devices) ids.push_back(device.id);
  auto held = store_.HeldDevices(rollout.product_uid, ids);
  if (!held) return std::unexpected(held.error());
  if (!held->empty()) {
    std::erase_if(out.devices, [&](const Device& device) {
      return std::ranges::binary_search(*held, device.id);
    });
    out.count.in_other_rollouts = static_cast<std::int64_t>(held->size());
  }
  for (const auto& device : out.devices) {
    if (out.forbid_downgrades && IsDowngrade(package, device)) ++out.count.newer_version;
  }
  out.count.matching = static_cast<std::int64_t>(out.devices.size()) - out.count.newer_version;
  return out;
}

Expected<bool> RolloutService::KeyRevoked(const Package& package) {
  auto keys = store_.ListKeys(package.product_uid);
  if (!keys) return std::unexpected(keys.error());
  return std::ranges::none_of(*keys,
                              [&](const SigningKey& key) { return key.id == package.key_id; });
}

Expected<bool> RolloutService::KeyRevokedAt(const Package& package, std::int64_t catalog_version) {
  auto keys = catalog_.ListKeys(catalog_version, package.product_uid);
  if (!keys) return std::unexpected(keys.error());
  return std::ranges::none_of(**keys,
                              [&](const SigningKey& key) { return key.id == package.key_id; });
}

void RolloutService::Pause(Rollout& rollout, const std::string& actor, std::string reason) {
  rollout.state = RolloutState::kPaused;
  rollout.paused_by = actor;
  rollout.paused_at = Now();
  rollout.reason =
      actor.empty() ? std::move(reason) : "paused by " + actor + " at " + rollout.paused_at;
}

Expected<bool> RolloutService::Save(Rollout& rollout) {
  auto saved = store_.UpdateRolloutIfUnchanged(rollout);
  if (!saved) return std::unexpected(saved.error());
  if (*saved) ++rollout.revision;
  return *saved;
}

Expected<void> RolloutService::Reload(Rollout& rollout, int& conflicts) {
  if (++conflicts > kMaxConflicts) {
    return std::unexpected(Conflict("rollout " + std::to_string(rollout.id) +
                                    " kept changing while this server changed it; try again"));
  }
  auto fresh = Load(rollout.id);
  if (!fresh) return std::unexpected(fresh.error());
  rollout = std::move(*fresh);
  return {};
}

Expected<void> RolloutService::PauseForKey(Rollout& rollout) {
  for (int conflicts = 0; rollout.state == RolloutState::kRunning;) {
    Rollout paused = rollout;
    Pause(paused, "", kKeyGone);
    auto saved = Save(paused);
    if (!saved) return std::unexpected(saved.error());
    if (*saved) {
      spdlog::warn("rollout {}: paused: {}", rollout.id, paused.reason);
      rollout = std::move(paused);
      return {};
    }
    UH_TRY(Reload(rollout, conflicts));
  }
  return {};
}

Expected<Package> RolloutService::PackageOf(const std::string& product_uid,
                                            const std::string& package_uid) {
  auto package = store_.GetPackage(package_uid);
  if (!package) return std::unexpected(package.error());
  if (!*package || (*package)->product_uid != product_uid) {
    return Fail(Errc::kNotFound, "the product has no package " + package_uid);
  }
  return std::move(**package);
}

Expected<RolloutService::SelectionCount> RolloutService::Preview(const std::string& product_uid,
                                                                 const Rollout& definition) {
  auto package = PackageOf(product_uid, definition.package_uid);
  if (!package) return std::unexpected(package.error());
  auto product = store_.GetProduct(product_uid);
  if (!product) return std::unexpected(product.error());
  const bool forbid_downgrades = *product && (*product)->forbid_downgrades;
  auto counted = store_.CountSelection(product_uid, definition.selection);
  if (!counted) return std::unexpected(counted.error());
  // The groups meet the rules of SelectedDevices in the same order.
  SelectionCount count;
  for (const SelectionGroup& group : counted->groups) {
    if (!group.accepted) {
      count.not_accepted += group.devices;
    } else if (!SupportsHardware(*package, group.hardware)) {
      count.unsupported_hardware += group.devices;
    } else if (group.held) {
      count.in_other_rollouts += group.devices;
    } else if (forbid_downgrades && CompareVersions(package->version, group.version) < 0) {
      count.newer_version += group.devices;
    } else {
      count.matching += group.devices;
    }
  }
  count.unknown_ids = std::move(counted->unknown_ids);
  return count;
}

namespace {

// "3, 17 and 5 more".
std::string SomeIds(const std::vector<std::int64_t>& ids) {
  constexpr std::size_t kShown = 20;
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(ids[i]);
  }
  if (ids.size() > kShown) text += " and " + std::to_string(ids.size() - kShown) + " more";
  return text;
}

// Why a selection took no device, from what it left out.
std::string WhyNone(const RolloutService::SelectionCount& count) {
  std::string why;
  auto add = [&why](std::int64_t n, const char* what) {
    if (n > 0) why += (why.empty() ? " (" : ", ") + std::to_string(n) + " " + what;
  };
  add(count.unsupported_hardware, "selected run hardware the package does not support");
  add(count.not_accepted, "selected are not accepted yet");
  add(count.newer_version, "selected run a newer version");
  add(count.in_other_rollouts, "selected are in other active rollouts of the product");
  return why.empty() ? why : why + ")";
}

}  // namespace

Expected<Rollout> RolloutService::Create(const std::string& product_uid, Rollout definition,
                                         bool allow_empty) {
  auto found = PackageOf(product_uid, definition.package_uid);
  if (!found) return std::unexpected(found.error());
  const Package& package = *found;
  auto revoked = KeyRevoked(package);
  if (!revoked) return std::unexpected(revoked.error());
  if (*revoked) return std::unexpected(Conflict(kKeyGone));
  definition.product_uid = product_uid;
  auto chosen = SelectedDevices(definition, package);
  if (!chosen) return std::unexpected(chosen.error());
  if (!chosen->count.unknown_ids.empty()) {
    return Fail(Errc::kInvalidArgument, "'devices' lists ids that are no device of this product: " +
                                            SomeIds(chosen->count.unknown_ids));
  }
  // An explicit list never takes newcomers: one that selects nobody would finish at once.
  if (chosen->devices.empty() && (!allow_empty || !definition.selection.device_ids.empty())) {
    std::string message = "the selection matches no device of the product" + WhyNone(chosen->count);
    if (definition.selection.device_ids.empty()) {
      message +=
          "; give \"wait_for_devices\": true to create it anyway, for devices that "
          "match it later";
    }
    return Fail(Errc::kInvalidArgument, message);
  }
  if (chosen->forbid_downgrades) {
    std::size_t newer = 0;
    const Device* example = nullptr;
    for (const auto& device : chosen->devices) {
      if (!IsDowngrade(package, device)) continue;
      ++newer;
      if (example == nullptr) example = &device;
    }
    if (example != nullptr) {
      return std::unexpected(Conflict(std::to_string(newer) +
                                      " of the selected devices run a newer version than the "
                                      "package's " +
                                      package.version + " (device " + std::to_string(example->id) +
                                      " runs " + example->version +
                                      "): this product forbids downgrades"));
    }
  }
  definition.state = RolloutState::kScheduled;
  definition.current_stage = 0;
  definition.created_at = Now();
  auto created = store_.CreateRollout(definition);
  if (!created) return created;
  if (created->start_at.empty() || *ParseTime(created->start_at) <= clock_()) {
    auto started = Start(*created);
    if (!started) return std::unexpected(started.error());
    // Another server's ticker may have started it first: show it as it is now.
    if (!*started) return Load(created->id);
  }
  return created;
}

Expected<bool> RolloutService::Start(Rollout& rollout) {
  auto package = store_.GetPackage(rollout.package_uid);
  if (!package) return std::unexpected(package.error());
  if (!*package) return Fail(Errc::kNotFound, "the rollout's package is gone");
  auto revoked = KeyRevoked(**package);
  if (!revoked) return std::unexpected(revoked.error());
  if (*revoked) return std::unexpected(Conflict(kKeyGone));

  // Everyone selected, in random order; ranks spread evenly so that stage shares are exact.
  auto chosen = SelectedDevices(rollout, **package);
  if (!chosen) return std::unexpected(chosen.error());
  std::vector<Device> selected;
  // Devices that moved past the package's version since the rollout was made are left out.
  for (auto& device : chosen->devices) {
    if (!chosen->forbid_downgrades || !IsDowngrade(**package, device)) {
      selected.push_back(std::move(device));
    }
  }
  {
    std::lock_guard lock(random_mutex_);
    std::shuffle(selected.begin(), selected.end(), random_);
  }
  std::vector<RolloutDevice> members;
  const std::string now = Now();
  for (std::size_t i = 0; i < selected.size(); ++i) {
    RolloutDevice member;
    member.rollout_id = rollout.id;
    member.device_id = selected[i].id;
    const double rank = (static_cast<double>(i) + 0.5) / static_cast<double>(selected.size());
    // The first stage always gets a device, even when its share of a small fleet rounds to
    // none: a stage that nobody installs proves nothing, and the next ones would follow at once.
    member.stage = i == 0 ? 0 : StageForRank(rollout.stages, rank);
    // Already at the package's version: updated without downloading anything.
    member.state =
        selected[i].version == (*package)->version ? DeviceState::kUpdated : DeviceState::kPending;
    member.updated_at = now;
    members.push_back(member);
  }
  // When another server starts it at the same time, the devices go to whichever adds them
  // first (a device is in one active rollout), and only one of the two saves the start.
  auto added = store_.AddRolloutDevices(rollout.product_uid, members);
  if (!added) return std::unexpected(added.error());
  Rollout running = rollout;
  running.state = RolloutState::kRunning;
  running.started_at = now;
  running.reason.clear();
  auto saved = Save(running);
  if (!saved) return std::unexpected(saved.error());
  if (!*saved) return false;
  rollout = std::move(running);
  spdlog::info("rollout {}: started: package {} for product {}, {} device(s), {} stage(s)",
               rollout.id, rollout.package_uid, rollout.product_uid, *added, rollout.stages.size());
  UH_TRY(Evaluate(rollout));
  return true;
}

Expected<void> RolloutService::Evaluate(Rollout& rollout) {
  // Each pass changes nothing and returns, or saves one change (a pause, the end, a stage's
  // success, an advance) and looks again; stages are finite. A change another request or server
  // saved first reloads the rollout, and the pass is made again on what it is now.
  int conflicts = 0;
  for (std::size_t pass = 0; pass <= 2 * rollout.stages.size() + 1; ++pass) {
    if (rollout.state != RolloutState::kRunning) return {};
    auto stats = store_.GetRolloutStats(rollout.id, static_cast<int>(rollout.stages.size()));
    if (!stats) return std::unexpected(stats.error());
    Rollout next = rollout;
    std::string change;
    if (auto breach = ThresholdBreach(next.threshold, *stats)) {
      Pause(next, "", "failure threshold: " + *breach);
      change = "failure threshold reached, paused: " + *breach;
    } else if (RolloutComplete(next, *stats)) {
      next.state = RolloutState::kFinished;
      next.finished_at = Now();
      change = "finished";
    } else {
      const bool last = next.current_stage + 1 >= static_cast<int>(next.stages.size());
      if (last || !StageSucceeded(next, *stats)) return {};
      const Stage& stage = next.stages[static_cast<std::size_t>(next.current_stage)];
      if (next.stage_succeeded_at.empty()) {
        next.stage_succeeded_at = Now();
      } else {
        if (stage.manual) return {};
        const auto succeeded = ParseTime(next.stage_succeeded_at);
        if (succeeded && clock_() - *succeeded < std::chrono::seconds(stage.soak_seconds)) {
          return {};
        }
        ++next.current_stage;
        next.stage_succeeded_at.clear();
        change = "stage " + std::to_string(next.current_stage) + " of " +
                 std::to_string(next.stages.size()) + " succeeded; advanced to stage " +
                 std::to_string(next.current_stage + 1);
      }
    }
    auto saved = Save(next);
    if (!saved) return std::unexpected(saved.error());
    if (!*saved) {
      UH_TRY(Reload(rollout, conflicts));
      --pass;  // not a pass: nothing was saved
      continue;
    }
    rollout = std::move(next);
    if (rollout.state == RolloutState::kPaused) {
      spdlog::warn("rollout {}: {}", rollout.id, change);
    } else if (!change.empty()) {
      spdlog::info("rollout {}: {}", rollout.id, change);
    }
  }
  return {};
}

Expected<Rollout> RolloutService::Control(std::int64_t id, std::string_view action,
                                          const nlohmann::json& body, const std::string& actor) {
  // Decided on the rollout as it is now; when another request or server changes it before
  // this change is saved, decided again on what it has become (which may refuse it).
  Rollout rollout;
  rollout.id = id;
  for (int conflicts = 0;;) {
    UH_TRY(Reload(rollout, conflicts));
    auto done = ControlOnce(rollout, action, body, actor);
    if (!done) return std::unexpected(done.error());
    if (*done) return rollout;
  }
}

Expected<bool> RolloutService::ControlOnce(Rollout& rollout, std::string_view action,
                                           const nlohmann::json& body, const std::string& actor) {
  const std::int64_t id = rollout.id;
  if (IsArchived(rollout.state)) return std::unexpected(Conflict("the rollout is archived"));
  Rollout next = rollout;
  std::string change;
  if (action == "start") {
    if (rollout.state != RolloutState::kScheduled) {
      return std::unexpected(Conflict("the rollout has already started"));
    }
    return Start(rollout);
  } else if (action == "pause") {
    if (rollout.state != RolloutState::kRunning) return std::unexpected(Conflict("not running"));
    Pause(next, actor, "");
    change = "paused by " + actor;
  } else if (action == "resume") {
    if (rollout.state != RolloutState::kPaused) return std::unexpected(Conflict("not paused"));
    auto package = store_.GetPackage(rollout.package_uid);
    if (!package) return std::unexpected(package.error());
    if (*package) {
      auto revoked = KeyRevoked(**package);
      if (!revoked) return std::unexpected(revoked.error());
      if (*revoked) return std::unexpected(Conflict(kKeyGone));
    }
    if (body.is_object() && body.contains("failure_threshold")) {
      Rollout changed = next;
      nlohmann::json plan = PlanJson(changed);
      plan["failure_threshold"] = body["failure_threshold"];
      UH_TRY(PlanFromJson(plan, changed));
      next.threshold = changed.threshold;
    }
    auto stats = store_.GetRolloutStats(id, static_cast<int>(next.stages.size()));
    if (!stats) return std::unexpected(stats.error());
    if (auto breach = ThresholdBreach(next.threshold, *stats)) {
      return std::unexpected(Conflict("the failure threshold is still exceeded (" + *breach +
                                      "); resume with a higher \"failure_threshold\""));
    }
    next.state = RolloutState::kRunning;
    next.reason.clear();
    next.paused_by.clear();
    next.paused_at.clear();
    change = "resumed at stage " + std::to_string(next.current_stage + 1);
  } else if (action == "stop") {
    next.state = RolloutState::kStopped;
    next.finished_at = Now();
    next.reason = "stopped by " + actor + " at " + next.finished_at;
    change = "stopped by " + actor;
  } else if (action == "advance") {
    if (rollout.state == RolloutState::kScheduled) return std::unexpected(Conflict("not started"));
    if (rollout.current_stage + 1 >= static_cast<int>(rollout.stages.size())) {
      return std::unexpected(Conflict("the rollout is at its last stage"));
    }
    ++next.current_stage;
    next.stage_succeeded_at.clear();
    change = "advanced by a user to stage " + std::to_string(next.current_stage + 1) + " of " +
             std::to_string(next.stages.size());
  } else {
    return Fail(Errc::kNotFound, "unknown action (start, pause, resume, stop, advance)");
  }
  auto saved = Save(next);
  if (!saved || !*saved) return saved;
  rollout = std::move(next);
  spdlog::info("rollout {}: {}", id, change);
  if (action == "resume" || action == "advance") UH_TRY(Evaluate(rollout));
  return true;
}

Expected<RolloutService::Retried> RolloutService::Retry(
    std::int64_t id, const std::vector<std::int64_t>& device_ids) {
  auto rollout = Load(id);
  if (!rollout) return std::unexpected(rollout.error());
  if (IsArchived(rollout->state)) {
    return std::unexpected(
        Conflict("the rollout is " + std::string(RolloutStateName(rollout->state)) +
                 " and no longer holds its devices: create a rollout for the failed ones "
                 "(GET /api/v1/rollouts/" +
                 std::to_string(id) + "/devices?state=failed lists them)"));
  }
  if (rollout->state == RolloutState::kScheduled) {
    return std::unexpected(Conflict("the rollout has not started: no device has failed"));
  }
  std::vector<std::int64_t> wanted = device_ids;
  std::ranges::sort(wanted);
  wanted.erase(std::ranges::unique(wanted).begin(), wanted.end());
  if (!wanted.empty()) {
    // Every listed device must be a failed device of this rollout, or nothing changes.
    auto places = store_.FindRolloutDevices(id, wanted);
    if (!places) return std::unexpected(places.error());
    std::vector<std::int64_t> strangers;
    std::vector<std::int64_t> not_failed;
    std::size_t next = 0;  // places are sorted by device id, as `wanted` is
    for (const std::int64_t device : wanted) {
      if (next < places->size() && (*places)[next].device_id == device) {
        if ((*places)[next].state != DeviceState::kFailed) not_failed.push_back(device);
        ++next;
      } else {
        strangers.push_back(device);
      }
    }
    if (!strangers.empty()) {
      return Fail(Errc::kInvalidArgument,
                  "'devices' lists ids that are no device of this rollout: " + SomeIds(strangers));
    }
    if (!not_failed.empty()) {
      return std::unexpected(Conflict(
          "only failed devices can be retried; these have not failed: " + SomeIds(not_failed)));
    }
  }
  auto retried = store_.RetryFailedRolloutDevices(id, wanted, Now());
  if (!retried) return std::unexpected(retried.error());
  if (retried->empty()) return std::unexpected(Conflict("the rollout has no failed device"));
  spdlog::info("rollout {}: {} failed device(s) get a new attempt", id, retried->size());
  UH_TRY(Evaluate(*rollout));
  return Retried{.rollout = std::move(*rollout), .device_ids = std::move(*retried)};
}

Expected<RolloutStats> RolloutService::Stats(std::int64_t id) {
  auto rollout = Load(id);
  if (!rollout) return std::unexpected(rollout.error());
  return Stats(*rollout);
}

Expected<RolloutStats> RolloutService::Stats(const Rollout& rollout) {
  return store_.GetRolloutStats(rollout.id, static_cast<int>(rollout.stages.size()));
}

Expected<std::optional<std::string>> RolloutService::HoldReasonOf(const Rollout& rollout,
                                                                  const RolloutStats& stats) {
  HoldFacts facts{.now = clock_(), .started_last_hour = 0};
  if (rollout.state == RolloutState::kRunning && rollout.rate_per_hour > 0) {
    // The window OnProbe counts in.
    auto started = store_.CountStartedSince(
        rollout.id, FormatTime(facts.now - std::chrono::hours(1) + std::chrono::seconds(1)));
    if (!started) return std::unexpected(started.error());
    facts.started_last_hour = *started;
  }
  return HoldReason(rollout, stats, facts);
}

Expected<std::vector<RolloutService::Progress>> RolloutService::ProgressOf(
    const std::vector<Rollout>& rollouts) {
  auto stats = store_.GetRolloutStatsOf(rollouts);
  if (!stats) return std::unexpected(stats.error());
  const auto now = clock_();
  std::vector<std::int64_t> rate_limited;
  for (const Rollout& rollout : rollouts) {
    if (rollout.state == RolloutState::kRunning && rollout.rate_per_hour > 0) {
      rate_limited.push_back(rollout.id);
    }
  }
  // The window OnProbe counts in (HoldReasonOf).
  auto started = store_.CountStartedSinceOf(
      rate_limited, FormatTime(now - std::chrono::hours(1) + std::chrono::seconds(1)));
  if (!started) return std::unexpected(started.error());
  std::vector<Progress> out;
  out.reserve(rollouts.size());
  for (std::size_t i = 0; i < rollouts.size(); ++i) {
    const auto found = started->find(rollouts[i].id);
    const HoldFacts facts{.now = now,
                          .started_last_hour = found == started->end() ? 0 : found->second};
    out.push_back({.stats = std::move((*stats)[i]), .hold_reason = std::nullopt});
    out.back().hold_reason = HoldReason(rollouts[i], out.back().stats, facts);
  }
  return out;
}

Expected<void> RolloutService::Tick() {
  auto rollouts = store_.ListRollouts("", false);
  if (!rollouts) return std::unexpected(rollouts.error());
  for (auto& rollout : *rollouts) {
    if (rollout.state == RolloutState::kScheduled && !rollout.start_at.empty()) {
      auto start = ParseTime(rollout.start_at);
      if (!start || *start > clock_()) continue;
      auto package = store_.GetPackage(rollout.package_uid);
      if (!package) return std::unexpected(package.error());
      if (*package) {
        auto revoked = KeyRevoked(**package);
        if (!revoked) return std::unexpected(revoked.error());
        if (*revoked) {
          // Not started: it stays scheduled, saying why, until the package is re-signed.
          if (rollout.reason != kKeyGone) {
            rollout.reason = kKeyGone;
            // Changed meanwhile (started, stopped): the next tick looks again.
            auto saved = Save(rollout);
            if (!saved) return std::unexpected(saved.error());
          }
          continue;
        }
      }
      // False: another server started it (or it changed) first.
      auto started = Start(rollout);
      if (!started) return std::unexpected(started.error());
    } else if (rollout.state == RolloutState::kRunning) {
      auto package = store_.GetPackage(rollout.package_uid);
      if (!package) return std::unexpected(package.error());
      if (*package) {
        auto revoked = KeyRevoked(**package);
        if (!revoked) return std::unexpected(revoked.error());
        if (*revoked) {
          UH_TRY(PauseForKey(rollout));
          continue;
        }
      }
      UH_TRY(Evaluate(rollout));
    }
  }
  return {};
}

Expected<std::optional<RolloutDevice>> RolloutService::Join(const Device& device,
                                                            std::int64_t catalog_version) {
  if (device.auth_state != kDeviceAccepted) return std::optional<RolloutDevice>();
  auto rollouts = catalog_.ActiveRollouts(catalog_version, device.product_uid);
  if (!rollouts) return std::unexpected(rollouts.error());
  for (const Rollout& rollout : **rollouts) {
    // Only filters take newcomers: an explicit device list is fixed when the rollout starts.
    if (rollout.state != RolloutState::kRunning || !rollout.selection.device_ids.empty() ||
        !Selects(rollout.selection, device)) {
      continue;
    }
    auto package = catalog_.GetPackage(catalog_version, rollout.package_uid);
    if (!package) return std::unexpected(package.error());
    if (!*package || !SupportsHardware(**package, device.hardware)) continue;
    if (IsDowngrade(**package, device)) {
      auto product = catalog_.GetProduct(catalog_version, device.product_uid);
      if (!product) return std::unexpected(product.error());
      if (*product && (*product)->forbid_downgrades) continue;
    }
    RolloutDevice member;
    member.rollout_id = rollout.id;
    member.device_id = device.id;
    double rank = 0;
    {
      std::lock_guard lock(random_mutex_);
      rank = std::uniform_real_distribution<>(0, 1)(random_);
    }
    member.stage = StageForRank(rollout.stages, rank);
    if (member.stage > rollout.current_stage) {
      // A rollout whose stages so far hold nobody (created before its devices showed up) takes
      // the newcomer into the current stage: it holds there until a device has proved the
      // package, instead of every stage passing empty and the last one taking everyone.
      auto stats = store_.GetRolloutStats(rollout.id, static_cast<int>(rollout.stages.size()));
      if (!stats) return std::unexpected(stats.error());
      if (stats->TotalThrough(rollout.current_stage) == 0) member.stage = rollout.current_stage;
    }
    member.state =
        device.version == (*package)->version ? DeviceState::kUpdated : DeviceState::kPending;
    member.updated_at = Now();
    auto added = store_.AddRolloutDevices(device.product_uid, {member});
    if (!added) return std::unexpected(added.error());
    if (*added == 1) return std::optional<RolloutDevice>(member);
  }
  return std::optional<RolloutDevice>();
}

// The common probe (a device with nothing new to do, or waiting) reads only through the
// catalog: no store access beyond the caller's LookupProbe, and no write. A device whose
// version changed, a first offer and a newcomer joining write, as they must.
Expected<ProbeAnswer> RolloutService::OnProbe(const Device& device, const ProbeState& state) {
  using Result = ProbeAnswer;
  const ProbeAnswer waiting{.offer = nullptr, .waiting = true};
  const std::int64_t version = state.catalog_version;
  std::optional<RolloutDevice> membership = state.membership;
  if (!membership) {
    auto joined = Join(device, version);
    if (!joined) return std::unexpected(joined.error());
    membership = std::move(*joined);
  }
  if (!membership) return Result();
  RolloutDevice& member = *membership;
  auto cached = catalog_.ActiveRollout(version, device.product_uid, member.rollout_id);
  if (!cached) return std::unexpected(cached.error());
  std::shared_ptr<const Rollout> rollout = std::move(*cached);
  if (!rollout) {
    // Not among the rollouts the catalog read: one created or changed since the device's
    // membership was read with an older version. Read it from the store.
    auto loaded = Load(member.rollout_id);
    if (!loaded) return std::unexpected(loaded.error());
    rollout = std::make_shared<const Rollout>(std::move(*loaded));
  }
  auto found = catalog_.GetPackage(version, rollout->package_uid);
  if (!found) return std::unexpected(found.error());
  std::shared_ptr<const Package> package = std::move(*found);
  if (!package) return Result();

  if (device.version == package->version) {
    // The device runs the package's version: it has updated (or already was).
    if (member.state != DeviceState::kUpdated) {
      member.state = DeviceState::kUpdated;
      member.updated_at = Now();
      UH_TRY(store_.UpdateRolloutDevice(member));
      Rollout evaluated = *rollout;
      UH_TRY(Evaluate(evaluated));
    }
    return Result();
  }
  if (member.state == DeviceState::kUpdated || member.state == DeviceState::kRebooting) {
    // It rebooted into the package (or was updated) and runs another version: it went back
    // (a failed validation, or the bootloader's fallback).
    member.state = DeviceState::kFailed;
    member.error_message = "the device came back running version " + device.version;
    member.updated_at = Now();
    UH_TRY(store_.UpdateRolloutDevice(member));
    Rollout evaluated = *rollout;
    UH_TRY(Evaluate(evaluated));
    return Result();
  }
  if (member.state == DeviceState::kFailed) return Result();
  if (rollout->state != RolloutState::kRunning) return Result();
  // Never an older version than the device runs, where the product forbids it (the device may
  // have moved on since it joined).
  if (IsDowngrade(*package, device)) {
    auto product = catalog_.GetProduct(version, device.product_uid);
    if (!product) return std::unexpected(product.error());
    if (*product && (*product)->forbid_downgrades) return Result();
  }
  // Nothing signed by a deleted key is offered, whatever the ticker has seen yet.
  auto revoked = KeyRevokedAt(*package, version);
  if (!revoked) return std::unexpected(revoked.error());
  if (*revoked) {
    Rollout paused = *rollout;
    UH_TRY(PauseForKey(paused));
    return Result();
  }
  if (member.stage > rollout->current_stage) return waiting;
  if (member.state == DeviceState::kPending && member.started_at.empty()) {
    if (rollout->window && !InWindow(*rollout->window, clock_())) return waiting;
    // The rate's slot is taken by the store, counting and writing at once: servers answering
    // at the same time never start more devices in an hour than the rate. Times have
    // one-second resolution: a device started exactly an hour ago is outside.
    auto started = store_.StartRolloutDevice(
        member, rollout->rate_per_hour,
        FormatTime(clock_() - std::chrono::hours(1) + std::chrono::seconds(1)), Now());
    if (!started) return std::unexpected(started.error());
    if (!*started) return waiting;
  }
  return ProbeAnswer{.offer = std::move(package), .waiting = false};
}

Expected<void> RolloutService::OnReport(const Device& device, const ReportRequest& report) {
  auto membership = store_.FindRolloutDevice(device.id);
  if (!membership) return std::unexpected(membership.error());
  if (!*membership) return {};
  RolloutDevice& member = **membership;
  auto rollout = Load(member.rollout_id);
  if (!rollout) return std::unexpected(rollout.error());
  if (rollout->package_uid != report.package_uid || IsFinal(member.state)) return {};
  auto state = StateForReport(report.status);
  if (!state) return {};
  // "downloaded" after "downloading", or a report sent twice: nothing changes. (A failed
  // device returned above: failed is final.)
  if (*state == member.state) return {};
  member.state = *state;
  if (*state == DeviceState::kFailed) {
    member.error_message = report.error_message.empty() ? "error while " + report.previous_state
                                                        : report.error_message;
  }
  member.updated_at = Now();
  UH_TRY(store_.UpdateRolloutDevice(member));
  return Evaluate(*rollout);
}

}  // namespace uh::server
