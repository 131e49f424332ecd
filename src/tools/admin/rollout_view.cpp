#include "tools/admin/rollout_view.hpp"

#include <cstdio>

#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

std::int64_t CountIn(const json& states, const char* state) {
  const auto pointer = json::json_pointer("/" + std::string(state) + "/count");
  if (!states.is_object() || !states.contains(pointer) || !states[pointer].is_number_integer()) {
    return 0;
  }
  return states[pointer].get<std::int64_t>();
}

std::int64_t IntegerOf(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number_integer()) return 0;
  return object[key].get<std::int64_t>();
}

// The rollout's plan for stage `index`: its cumulative percentage.
std::string StagePercent(const json& rollout, std::size_t index) {
  const auto pointer = json::json_pointer("/stages/" + std::to_string(index) + "/percent");
  if (!rollout.contains(pointer)) return "?";
  return Cell(rollout[pointer]) + "%";
}

// "[#####xx.....]": updated as '#', failed as 'x', the rest of the stage as '.'.
std::string Bar(std::int64_t updated, std::int64_t failed, std::int64_t total, int width) {
  if (total <= 0) return "[" + std::string(static_cast<std::size_t>(width), '.') + "]";
  const auto cells = [&](std::int64_t count) {
    return static_cast<std::size_t>(count * width / total);
  };
  const std::size_t done = std::min<std::size_t>(cells(updated), static_cast<std::size_t>(width));
  const std::size_t bad =
      std::min<std::size_t>(cells(failed), static_cast<std::size_t>(width) - done);
  return "[" + std::string(done, '#') + std::string(bad, 'x') +
         std::string(static_cast<std::size_t>(width) - done - bad, '.') + "]";
}

std::string StagesTable(const json& rollout) {
  Table table({"STAGE", "PERCENT", "DEVICES", "PENDING", "DOWNLOADING", "INSTALLING", "REBOOTING",
               "UPDATED", "FAILED"});
  const json stages = rollout.contains(json::json_pointer("/statistics/stages"))
                          ? rollout[json::json_pointer("/statistics/stages")]
                          : json::array();
  if (!stages.is_array()) return "";
  const std::int64_t current = IntegerOf(rollout, "current_stage");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const json& stage = stages[i];
    const json states = stage.is_object() && stage.contains("states") ? stage["states"] : json();
    table.AddRow(
        {std::to_string(i + 1) + (static_cast<std::int64_t>(i) == current ? " *" : ""),
         StagePercent(rollout, i), std::to_string(IntegerOf(stage, "total")),
         std::to_string(CountIn(states, "pending")), std::to_string(CountIn(states, "downloading")),
         std::to_string(CountIn(states, "installing")),
         std::to_string(CountIn(states, "rebooting")), std::to_string(CountIn(states, "updated")),
         std::to_string(CountIn(states, "failed"))});
  }
  return table.Render();
}

}  // namespace

bool RolloutEnded(const json& rollout) {
  const std::string state = Field(rollout, "state");
  return state == "finished" || state == "stopped";
}

std::string RolloutSummary(const json& rollout) {
  const json stages =
      rollout.is_object() && rollout.contains("stages") ? rollout["stages"] : json();
  const std::size_t stage_count = stages.is_array() ? stages.size() : 0;
  std::vector<std::pair<std::string, std::string>> items = {
      {"id", Field(rollout, "id")},
      {"name", Field(rollout, "name")},
      {"product", Field(rollout, "product")},
      {"package", Field(rollout, "package")},
      {"state", Field(rollout, "state")},
      {"stage", std::to_string(IntegerOf(rollout, "current_stage") + 1) + " of " +
                    std::to_string(stage_count)},
      {"hold", Field(rollout, "hold_reason")},
  };
  if (Field(rollout, "reason") != "-") items.emplace_back("reason", Field(rollout, "reason"));
  if (rollout.is_object() && rollout.contains("devices")) {
    items.emplace_back("devices", Field(rollout, "devices"));
  }
  if (rollout.is_object() && rollout.contains("filter")) {
    items.emplace_back("filter", Field(rollout, "filter"));
  }
  items.emplace_back("threshold", Field(rollout, "failure_threshold"));
  items.emplace_back("rate/hour", Field(rollout, "rate_per_hour"));
  if (rollout.is_object() && rollout.contains("maintenance_window")) {
    items.emplace_back("window", Field(rollout, "maintenance_window"));
  }
  items.emplace_back("start at", Field(rollout, "start_at"));
  items.emplace_back("created", Field(rollout, "created_at"));
  items.emplace_back("started", Field(rollout, "started_at"));
  items.emplace_back("finished", Field(rollout, "finished_at"));
  return KeyValues(items) + "\n" + StagesTable(rollout);
}

std::string RolloutFrame(const json& rollout, int width) {
  std::string out = "rollout " + Field(rollout, "id") + " (" + Field(rollout, "name") +
                    "): " + Field(rollout, "state") + "\n";
  const json stages = rollout.contains(json::json_pointer("/statistics/stages"))
                          ? rollout[json::json_pointer("/statistics/stages")]
                          : json::array();
  const std::int64_t current = IntegerOf(rollout, "current_stage");
  for (std::size_t i = 0; stages.is_array() && i < stages.size(); ++i) {
    const json& stage = stages[i];
    const json states = stage.is_object() && stage.contains("states") ? stage["states"] : json();
    const std::int64_t total = IntegerOf(stage, "total");
    const std::int64_t updated = CountIn(states, "updated");
    const std::int64_t failed = CountIn(states, "failed");
    char line[160];
    std::snprintf(line, sizeof line, "%s stage %zu %-5s %s %lld/%lld updated, %lld failed\n",
                  static_cast<std::int64_t>(i) == current ? ">" : " ", i + 1,
                  StagePercent(rollout, i).c_str(), Bar(updated, failed, total, width).c_str(),
                  static_cast<long long>(updated), static_cast<long long>(total),
                  static_cast<long long>(failed));
    out += line;
  }
  const json statistics = rollout.is_object() && rollout.contains("statistics")
                              ? rollout["statistics"]
                              : json::object();
  const json states = statistics.is_object() && statistics.contains("states") ? statistics["states"]
                                                                              : json::object();
  out += "  devices " + std::to_string(IntegerOf(statistics, "total")) + ": ";
  bool first = true;
  for (const char* state :
       {"pending", "downloading", "installing", "rebooting", "updated", "failed"}) {
    out += (first ? "" : ", ") + std::to_string(CountIn(states, state)) + " " + state;
    first = false;
  }
  out += "\n";
  if (Field(rollout, "hold_reason") != "-")
    out += "  hold: " + Field(rollout, "hold_reason") + "\n";
  if (RolloutEnded(rollout) && Field(rollout, "reason") != "-") {
    out += "  reason: " + Field(rollout, "reason") + "\n";
  }
  return out;
}

std::string RolloutTable(const json& rollouts) {
  Table table({"ID", "NAME", "STATE", "STAGE", "UPDATED", "FAILED", "DEVICES", "PACKAGE", "HOLD"});
  for (const auto& rollout : rollouts) {
    const json stages =
        rollout.is_object() && rollout.contains("stages") ? rollout["stages"] : json();
    const json statistics =
        rollout.is_object() && rollout.contains("statistics") ? rollout["statistics"] : json();
    const json states =
        statistics.is_object() && statistics.contains("states") ? statistics["states"] : json();
    table.AddRow({Field(rollout, "id"), Field(rollout, "name"), Field(rollout, "state"),
                  std::to_string(IntegerOf(rollout, "current_stage") + 1) + "/" +
                      std::to_string(stages.is_array() ? stages.size() : 0),
                  std::to_string(CountIn(states, "updated")),
                  std::to_string(CountIn(states, "failed")),
                  std::to_string(IntegerOf(statistics, "total")),
                  Field(rollout, "package").substr(0, 12), Field(rollout, "hold_reason")});
  }
  return table.Render();
}

}  // namespace uh::admin
