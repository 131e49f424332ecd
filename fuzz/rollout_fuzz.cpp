// RolloutFromJson on a rollout definition as POST /api/v1/products/{uid}/rollouts receives it
// (ParseJson with the management API's limits first), and PlanFromJson / SelectionFromJson, which
// the store runs on what it kept, on the same document. Errors are kMalformed. An accepted
// definition holds the documented limits (1 to 100 growing stages ending at 100, percentages in
// [0, 100], counts and rates not negative, a window of two distinct "HH:MM" times written with
// digits); its plan written by PlanJson and its selection by SelectionJson, through text, parse
// back to the same; ToJson, without what the server adds, is a definition of the same rollout.
// A filter selects a device holding exactly what it asks for, a list its first device and not
// id 0; StageForRank keeps every rank in [0, 1) within the stages.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "fuzz_check.hpp"
#include "server/model/rollout.hpp"
#include "server/rollout_rules.hpp"

namespace {

using nlohmann::json;
using uh::server::Rollout;

// The management API's limits (src/server/api_util.cpp).
constexpr uh::JsonLimits kApiLimits{.max_depth = 8, .max_bytes = 1024 * 1024};

std::string HoursMinutes(int minute) {
  char buffer[32];  // room for any int, as GCC checks at -O0
  std::snprintf(buffer, sizeof buffer, "%02d:%02d", minute / 60, minute % 60);
  return buffer;
}

// A JSON value through its text and back, as the store keeps plans and selections.
json ThroughText(const json& value) {
  auto parsed = uh::ParseJson(value.dump(), kApiLimits);
  UH_FUZZ_CHECK(parsed.has_value(), "what the model writes does not parse as JSON");
  return *parsed;
}

void CheckLimits(const Rollout& rollout, const json& body) {
  UH_FUZZ_CHECK(uh::IsLowerHexSha256(rollout.package_uid), "a package that is no uid");
  UH_FUZZ_CHECK(rollout.name.size() <= 200, "a name over 200 bytes");
  UH_FUZZ_CHECK(!rollout.stages.empty() && rollout.stages.size() <= 100, "not 1 to 100 stages");
  double previous = 0;
  for (const auto& stage : rollout.stages) {
    UH_FUZZ_CHECK(stage.percent > previous && stage.percent <= 100, "stages do not grow");
    UH_FUZZ_CHECK(stage.success_percent >= 0 && stage.success_percent <= 100,
                  "a success share outside [0, 100]");
    UH_FUZZ_CHECK(stage.soak_seconds >= 0, "a negative soak time");
    previous = stage.percent;
  }
  UH_FUZZ_CHECK(rollout.stages.back().percent == 100, "the last stage is not 100 percent");
  UH_FUZZ_CHECK(rollout.rate_per_hour >= 0, "a negative rate");
  UH_FUZZ_CHECK(rollout.threshold.min_attempted >= 1, "min_attempted under 1");
  UH_FUZZ_CHECK(!rollout.threshold.count || *rollout.threshold.count >= 0, "a negative count");
  UH_FUZZ_CHECK(!rollout.threshold.percent ||
                    (*rollout.threshold.percent >= 0 && *rollout.threshold.percent <= 100),
                "a threshold outside [0, 100]");
  if (rollout.window) {
    const auto [start, end] = *rollout.window;
    UH_FUZZ_CHECK(start >= 0 && start < 24 * 60 && end >= 0 && end < 24 * 60 && start != end,
                  "a window outside the day or empty");
    // "HH:MM": what was accepted is what PlanJson writes, two digits each.
    UH_FUZZ_CHECK(body["maintenance_window"]["start"] == HoursMinutes(start) &&
                      body["maintenance_window"]["end"] == HoursMinutes(end),
                  "a window time that is not HH:MM was accepted");
  }
  if (!rollout.start_at.empty()) {
    UH_FUZZ_CHECK(uh::ParseTime(rollout.start_at).has_value(), "a start_at that is no time");
  }
  for (const auto id : rollout.selection.device_ids) UH_FUZZ_CHECK(id >= 1, "a device id < 1");
}

void CheckRoundTrips(const Rollout& rollout) {
  const json plan = PlanJson(rollout);
  Rollout replanned;
  UH_FUZZ_CHECK(PlanFromJson(ThroughText(plan), replanned).has_value(),
                "PlanJson's output does not parse");
  UH_FUZZ_CHECK(PlanJson(replanned) == plan, "the plan read back differs");

  const json selection = SelectionJson(rollout.selection);
  auto reselected = uh::server::SelectionFromJson(ThroughText(selection));
  UH_FUZZ_CHECK(reselected.has_value(), "SelectionJson's output does not parse");
  UH_FUZZ_CHECK(SelectionJson(*reselected) == selection, "the selection read back differs");

  json definition = ToJson(rollout);
  for (const char* key : {"id", "product", "state", "archived", "current_stage", "reason",
                          "paused_by", "paused_at", "created_at", "started_at", "finished_at"}) {
    definition.erase(key);
  }
  if (rollout.start_at.empty()) definition.erase("start_at");
  auto again = uh::server::RolloutFromJson(ThroughText(definition));
  UH_FUZZ_CHECK(again.has_value(), "ToJson's output is not a definition");
  UH_FUZZ_CHECK(ToJson(*again) == ToJson(rollout), "the definition read back differs");
}

void CheckRules(const Rollout& rollout) {
  const auto& selection = rollout.selection;
  uh::server::Device device;
  if (!selection.device_ids.empty()) {
    device.id = selection.device_ids.front();
    UH_FUZZ_CHECK(Selects(selection, device), "a listed device is not selected");
    device.id = 0;
    UH_FUZZ_CHECK(!Selects(selection, device), "an unlisted device is selected");
  } else {
    device.hardware = selection.hardware.empty() ? "any" : selection.hardware.front();
    device.version = selection.versions.empty() ? "any" : selection.versions.front();
    device.identity = uh::PythonJsonDumps(selection.identity);
    device.attributes = uh::PythonJsonDumps(selection.attributes);
    UH_FUZZ_CHECK(Selects(selection, device), "a device with what the filter asks is not selected");
  }
  int previous = 0;
  for (const double rank : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
    const int stage = uh::server::StageForRank(rollout.stages, rank);
    UH_FUZZ_CHECK(stage >= previous && stage < static_cast<int>(rollout.stages.size()),
                  "a rank outside the stages or going back");
    previous = stage;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = uh::ParseJson(text, kApiLimits);
  if (!body) return 0;

  // What the store reads back goes through these two alone.
  Rollout planned;
  if (auto plan = PlanFromJson(*body, planned); !plan) {
    UH_FUZZ_CHECK(plan.error().code() == uh::Errc::kMalformed, "a bad plan is not kMalformed");
  }
  if (auto selection = uh::server::SelectionFromJson(*body); !selection) {
    UH_FUZZ_CHECK(selection.error().code() == uh::Errc::kMalformed,
                  "a bad selection is not kMalformed");
  }

  auto rollout = uh::server::RolloutFromJson(*body);
  if (!rollout) {
    UH_FUZZ_CHECK(rollout.error().code() == uh::Errc::kMalformed,
                  "a bad definition is not kMalformed");
    UH_FUZZ_CHECK(!rollout.error().message().empty(), "an error without a message");
    return 0;
  }
  CheckLimits(*rollout, *body);
  CheckRoundTrips(*rollout);
  CheckRules(*rollout);
  return 0;
}
