#include "server/model/rollout.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>

#include "core/hash.hpp"
#include "core/json.hpp"

namespace uh::server {
namespace {

using nlohmann::json;

constexpr std::array kRolloutStates = {"scheduled", "running", "paused", "finished", "stopped"};
constexpr std::array kDeviceStates = {"pending",   "downloading", "installing",
                                      "rebooting", "updated",     "failed"};

Error Bad(const std::string& message) { return Error(Errc::kMalformed, message); }

Expected<std::vector<std::string>> StringList(const json& value, const std::string& key) {
  if (!value.is_array()) return std::unexpected(Bad("'" + key + "' must be a list of strings"));
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) return std::unexpected(Bad("'" + key + "' must be a list of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Expected<double> Percent(const json& value, const std::string& key, double minimum) {
  if (!value.is_number()) return std::unexpected(Bad("'" + key + "' must be a number"));
  const double number = value.get<double>();
  if (!(number >= minimum && number <= 100)) {
    return std::unexpected(Bad("'" + key + "' must be between " +
                               std::to_string(static_cast<int>(minimum)) + " and 100"));
  }
  return number;
}

Expected<std::int64_t> Integer(const json& value, const std::string& key, std::int64_t minimum) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < minimum) {
    return std::unexpected(
        Bad("'" + key + "' must be an integer of at least " + std::to_string(minimum)));
  }
  return value.get<std::int64_t>();
}

Expected<int> MinuteOfDay(const json& value, const std::string& key) {
  if (!value.is_string()) return std::unexpected(Bad("'" + key + "' must be \"HH:MM\""));
  const auto& text = value.get_ref<const std::string&>();
  // Digits where the format has them: sscanf's %d would also take a sign or a space.
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -1; };
  if (text.size() != 5 || text[2] != ':' || digit(0) < 0 || digit(1) < 0 || digit(3) < 0 ||
      digit(4) < 0) {
    return std::unexpected(Bad("'" + key + "' must be \"HH:MM\" (UTC)"));
  }
  const int hours = digit(0) * 10 + digit(1);
  const int minutes = digit(3) * 10 + digit(4);
  if (hours > 23 || minutes > 59) {
    return std::unexpected(Bad("'" + key + "' must be \"HH:MM\" (UTC)"));
  }
  return hours * 60 + minutes;
}

std::string FormatMinute(int minute) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d", (minute / 60) % 24, minute % 60);
  return buffer;
}

}  // namespace

std::string_view RolloutStateName(RolloutState state) {
  return kRolloutStates[static_cast<std::size_t>(state)];
}

std::optional<RolloutState> ParseRolloutState(std::string_view name) {
  for (std::size_t i = 0; i < kRolloutStates.size(); ++i) {
    if (name == kRolloutStates[i]) return static_cast<RolloutState>(i);
  }
  return std::nullopt;
}

std::string_view DeviceStateName(DeviceState state) {
  return kDeviceStates[static_cast<std::size_t>(state)];
}

std::optional<DeviceState> ParseDeviceState(std::string_view name) {
  for (std::size_t i = 0; i < kDeviceStates.size(); ++i) {
    if (name == kDeviceStates[i]) return static_cast<DeviceState>(i);
  }
  return std::nullopt;
}

std::optional<DeviceState> StateForReport(std::string_view status) {
  if (status == "downloading" || status == "downloaded") return DeviceState::kDownloading;
  if (status == "installing" || status == "installed") return DeviceState::kInstalling;
  if (status == "rebooting") return DeviceState::kRebooting;
  if (status == "updated") return DeviceState::kUpdated;
  if (status == "error") return DeviceState::kFailed;
  return std::nullopt;
}

std::int64_t RolloutStats::Count(DeviceState state) const {
  std::int64_t total = 0;
  for (const auto& stage : stages) total += stage[static_cast<std::size_t>(state)];
  return total;
}

std::int64_t RolloutStats::StageTotal(int stage) const {
  if (stage < 0 || static_cast<std::size_t>(stage) >= stages.size()) return 0;
  std::int64_t total = 0;
  for (auto count : stages[static_cast<std::size_t>(stage)]) total += count;
  return total;
}

std::int64_t RolloutStats::Total() const {
  std::int64_t total = 0;
  for (std::size_t s = 0; s < stages.size(); ++s) total += StageTotal(static_cast<int>(s));
  return total;
}

std::int64_t RolloutStats::TotalThrough(int stage) const {
  std::int64_t total = 0;
  for (int s = 0; s <= stage; ++s) total += StageTotal(s);
  return total;
}

std::int64_t RolloutStats::CountThrough(int stage, DeviceState state) const {
  std::int64_t total = 0;
  for (int s = 0; s <= stage && static_cast<std::size_t>(s) < stages.size(); ++s) {
    total += stages[static_cast<std::size_t>(s)][static_cast<std::size_t>(state)];
  }
  return total;
}

std::int64_t RolloutStats::Attempted() const { return Total() - Count(DeviceState::kPending); }

json SelectionJson(const Selection& selection) {
  if (!selection.device_ids.empty()) return {{"devices", selection.device_ids}};
  return {{"filter",
           {{"hardware", selection.hardware},
            {"versions", selection.versions},
            {"identity", selection.identity},
            {"attributes", selection.attributes}}}};
}

Expected<Selection> SelectionFromJson(const json& value) {
  Selection selection;
  if (!value.is_object()) return std::unexpected(Bad("the selection must be an object"));
  if (value.contains("devices")) {
    const json& devices = value["devices"];
    if (!devices.is_array() || devices.empty() || devices.size() > 1000000) {
      return std::unexpected(Bad("'devices' must be a non-empty list of device ids"));
    }
    for (const auto& id : devices) {
      auto number = Integer(id, "devices[]", 1);
      if (!number) return std::unexpected(number.error());
      selection.device_ids.push_back(*number);
    }
    return selection;
  }
  if (!value.contains("filter")) return selection;  // every device of the product
  const json& filter = value["filter"];
  if (!filter.is_object()) return std::unexpected(Bad("'filter' must be an object"));
  for (const auto& [key, item] : filter.items()) {
    if (key == "hardware" || key == "versions") {
      auto list = StringList(item, "filter." + key);
      if (!list) return std::unexpected(list.error());
      (key == "hardware" ? selection.hardware : selection.versions) = std::move(*list);
    } else if (key == "identity" || key == "attributes") {
      if (!item.is_object()) return std::unexpected(Bad("'filter." + key + "' must be an object"));
      for (const auto& [name, wanted] : item.items()) {
        if (!wanted.is_string()) {
          return std::unexpected(Bad("'filter." + key + "." + name + "' must be a string"));
        }
      }
      (key == "identity" ? selection.identity : selection.attributes) = item;
    } else {
      return std::unexpected(Bad("unknown filter key '" + key + "'"));
    }
  }
  return selection;
}

json PlanJson(const Rollout& rollout) {
  json stages = json::array();
  for (const auto& stage : rollout.stages) {
    stages.push_back({{"percent", stage.percent},
                      {"success_percent", stage.success_percent},
                      {"soak_seconds", stage.soak_seconds},
                      {"manual", stage.manual}});
  }
  json plan = {{"stages", stages}, {"rate_per_hour", rollout.rate_per_hour}};
  plan["failure_threshold"] = {{"min_attempted", rollout.threshold.min_attempted}};
  if (rollout.threshold.percent) plan["failure_threshold"]["percent"] = *rollout.threshold.percent;
  if (rollout.threshold.count) plan["failure_threshold"]["count"] = *rollout.threshold.count;
  if (rollout.window) {
    plan["maintenance_window"] = {{"start", FormatMinute(rollout.window->start_minute)},
                                  {"end", FormatMinute(rollout.window->end_minute)}};
  }
  return plan;
}

Expected<void> PlanFromJson(const json& value, Rollout& rollout) {
  if (!value.is_object()) return std::unexpected(Bad("the plan must be an object"));
  rollout.stages.clear();
  if (value.contains("stages")) {
    const json& stages = value["stages"];
    if (!stages.is_array() || stages.empty() || stages.size() > 100) {
      return std::unexpected(Bad("'stages' must be a list of 1 to 100 stages"));
    }
    double previous = 0;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const std::string where = "stages[" + std::to_string(i) + "]";
      const json& item = stages[i];
      Stage stage;
      if (item.is_number()) {
        auto percent = Percent(item, where, 0);
        if (!percent) return std::unexpected(percent.error());
        stage.percent = *percent;
      } else if (item.is_object()) {
        for (const auto& [key, field] : item.items()) {
          const std::string name = where + "." + key;
          if (key == "percent") {
            auto percent = Percent(field, name, 0);
            if (!percent) return std::unexpected(percent.error());
            stage.percent = *percent;
          } else if (key == "success_percent") {
            auto percent = Percent(field, name, 0);
            if (!percent) return std::unexpected(percent.error());
            stage.success_percent = *percent;
          } else if (key == "soak_seconds") {
            auto seconds = Integer(field, name, 0);
            if (!seconds) return std::unexpected(seconds.error());
            stage.soak_seconds = *seconds;
          } else if (key == "manual") {
            if (!field.is_boolean())
              return std::unexpected(Bad("'" + name + "' must be a boolean"));
            stage.manual = field.get<bool>();
          } else {
            return std::unexpected(Bad("unknown stage key '" + name + "'"));
          }
        }
        if (!item.contains("percent"))
          return std::unexpected(Bad("'" + where + ".percent' is missing"));
      } else {
        return std::unexpected(Bad("'" + where + "' must be a percentage or an object"));
      }
      if (stage.percent <= previous) {
        return std::unexpected(Bad("stage percentages must grow: '" + where + "'"));
      }
      previous = stage.percent;
      rollout.stages.push_back(stage);
    }
    if (rollout.stages.back().percent != 100) {
      return std::unexpected(Bad("the last stage must reach 100 percent"));
    }
  } else {
    rollout.stages.push_back(Stage{});
  }
  rollout.rate_per_hour = 0;
  if (value.contains("rate_per_hour")) {
    auto rate = Integer(value["rate_per_hour"], "rate_per_hour", 0);
    if (!rate) return std::unexpected(rate.error());
    rollout.rate_per_hour = *rate;
  }
  rollout.threshold = {};
  if (value.contains("failure_threshold")) {
    const json& threshold = value["failure_threshold"];
    if (!threshold.is_object())
      return std::unexpected(Bad("'failure_threshold' must be an object"));
    for (const auto& [key, field] : threshold.items()) {
      const std::string name = "failure_threshold." + key;
      if (key == "percent") {
        auto percent = Percent(field, name, 0);
        if (!percent) return std::unexpected(percent.error());
        rollout.threshold.percent = *percent;
      } else if (key == "count") {
        auto count = Integer(field, name, 0);
        if (!count) return std::unexpected(count.error());
        rollout.threshold.count = *count;
      } else if (key == "min_attempted") {
        auto count = Integer(field, name, 1);
        if (!count) return std::unexpected(count.error());
        rollout.threshold.min_attempted = *count;
      } else {
        return std::unexpected(Bad("unknown key '" + name + "'"));
      }
    }
  }
  rollout.window.reset();
  if (value.contains("maintenance_window")) {
    const json& window = value["maintenance_window"];
    if (!window.is_object() || !window.contains("start") || !window.contains("end")) {
      return std::unexpected(
          Bad("'maintenance_window' needs \"start\" and \"end\" (\"HH:MM\", UTC)"));
    }
    auto start = MinuteOfDay(window["start"], "maintenance_window.start");
    auto end = MinuteOfDay(window["end"], "maintenance_window.end");
    if (!start) return std::unexpected(start.error());
    if (!end) return std::unexpected(end.error());
    if (*start == *end) return std::unexpected(Bad("'maintenance_window' is empty"));
    rollout.window = MaintenanceWindow{*start, *end};
  }
  return {};
}

Expected<Rollout> RolloutFromJson(const json& body) {
  if (!body.is_object()) return std::unexpected(Bad("the body must be a JSON object"));
  static const std::array kKeys = {
      "package",          "name",          "devices",  "filter",
      "stages",           "rate_per_hour", "start_at", "maintenance_window",
      "failure_threshold"};
  for (const auto& [key, item] : body.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return std::unexpected(Bad("unknown key '" + key + "'"));
    }
  }
  Rollout rollout;
  if (!body.contains("package") || !body["package"].is_string() ||
      !IsLowerHexSha256(body["package"].get<std::string>())) {
    return std::unexpected(Bad("'package' must be a package uid"));
  }
  rollout.package_uid = body["package"].get<std::string>();
  if (body.contains("name")) {
    if (!body["name"].is_string() || body["name"].get<std::string>().size() > 200) {
      return std::unexpected(Bad("'name' must be a string of at most 200 characters"));
    }
    rollout.name = body["name"].get<std::string>();
  }
  if (body.contains("devices") && body.contains("filter")) {
    return std::unexpected(Bad("give either 'devices' or 'filter', not both"));
  }
  auto selection = SelectionFromJson(body);
  if (!selection) return std::unexpected(selection.error());
  rollout.selection = std::move(*selection);
  UH_TRY(PlanFromJson(body, rollout));
  if (body.contains("start_at")) {
    if (!body["start_at"].is_string() || !ParseTime(body["start_at"].get<std::string>())) {
      return std::unexpected(
          Bad("'start_at' must be an RFC 3339 UTC time like 2026-01-31T02:00:00Z"));
    }
    rollout.start_at = body["start_at"].get<std::string>();
  }
  return rollout;
}

json ToJson(const Rollout& rollout) {
  json out = PlanJson(rollout);
  out.update(SelectionJson(rollout.selection));
  out["id"] = rollout.id;
  out["product"] = rollout.product_uid;
  out["package"] = rollout.package_uid;
  out["name"] = rollout.name;
  out["state"] = RolloutStateName(rollout.state);
  out["archived"] = IsArchived(rollout.state);
  out["start_at"] = rollout.start_at;
  out["current_stage"] = rollout.current_stage;
  out["reason"] = rollout.reason;
  // Who paused it and when, as fields; a pause the server decided has paused_by null.
  out["paused_by"] = rollout.paused_by.empty() ? json(nullptr) : json(rollout.paused_by);
  out["paused_at"] = rollout.paused_at.empty() ? json(nullptr) : json(rollout.paused_at);
  out["created_at"] = rollout.created_at;
  out["started_at"] = rollout.started_at;
  out["finished_at"] = rollout.finished_at;
  return out;
}

json ToJson(const RolloutStats& stats) {
  auto counts = [](auto count_of, std::int64_t total) {
    json out = json::object();
    for (int s = 0; s < kDeviceStateCount; ++s) {
      const auto state = static_cast<DeviceState>(s);
      const std::int64_t count = count_of(state);
      out[std::string(DeviceStateName(state))] = {
          {"count", count}, {"percent", total == 0 ? 0.0 : 100.0 * count / total}};
    }
    return out;
  };
  json stages = json::array();
  for (std::size_t i = 0; i < stats.stages.size(); ++i) {
    const std::int64_t total = stats.StageTotal(static_cast<int>(i));
    stages.push_back({{"stage", i},
                      {"total", total},
                      {"states", counts(
                                     [&](DeviceState state) {
                                       return stats.stages[i][static_cast<std::size_t>(state)];
                                     },
                                     total)}});
  }
  return {{"total", stats.Total()},
          {"attempted", stats.Attempted()},
          {"states", counts([&](DeviceState state) { return stats.Count(state); }, stats.Total())},
          {"stages", stages}};
}

}  // namespace uh::server
