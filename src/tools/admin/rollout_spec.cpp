#include "tools/admin/rollout_spec.hpp"

#include <charconv>

namespace uh::admin {

using nlohmann::json;

namespace {

std::unexpected<Error> Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

// A non-negative decimal number (digits with at most one '.'), the whole of `text`.
std::optional<double> Number(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> Percentage(std::string_view text) {
  if (text.ends_with('%')) text.remove_suffix(1);
  auto value = Number(text);
  if (!value || *value > 100) return std::nullopt;
  return value;
}

json WholeOrFraction(double value) {
  const auto whole = static_cast<std::int64_t>(value);
  return static_cast<double>(whole) == value ? json(whole) : json(value);
}

// "HH:MM" with HH < 24 and MM < 60.
bool IsClockTime(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return false;
  for (const std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return (text[0] - '0') * 10 + (text[1] - '0') < 24 && text[3] < '6';
}

}  // namespace

Expected<std::int64_t> ParseDuration(std::string_view text) {
  const std::string_view original = text;
  if (text.empty()) return Invalid("empty duration");
  std::int64_t total = 0;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
    if (digits == 0 || digits > 9 || error != std::errc()) {
      return Invalid("bad duration \"" + std::string(original) +
                     "\": use e.g. 90, 90s, 15m, 1h30m or 2d");
    }
    text.remove_prefix(digits);
    std::int64_t unit = 1;
    if (!text.empty()) {
      switch (text.front()) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        default:
          return Invalid("bad duration \"" + std::string(original) +
                         "\": use e.g. 90, 90s, 15m, 1h30m or 2d");
      }
      text.remove_prefix(1);
    } else if (total != 0) {
      return Invalid("bad duration \"" + std::string(original) +
                     "\": a unit is missing at the end");
    }
    total += value * unit;
  }
  return total;
}

Expected<json> ParseStage(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view percent_text = text.substr(0, colon);
  const auto percent = Percentage(percent_text);
  if (!percent || *percent <= 0) {
    return Invalid("bad --stage \"" + std::string(text) +
                   "\": PERCENT[%][:soak=DURATION,success=PERCENT,manual], e.g. 10%:soak=1h");
  }
  if (colon == std::string_view::npos) return WholeOrFraction(*percent);
  json stage = {{"percent", WholeOrFraction(*percent)}};
  std::string_view options = text.substr(colon + 1);
  while (!options.empty()) {
    const auto comma = options.find(',');
    const std::string_view option = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    const auto equals = option.find('=');
    const std::string_view key = option.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : option.substr(equals + 1);
    if (key == "manual" && equals == std::string_view::npos) {
      stage["manual"] = true;
    } else if (key == "soak" && !value.empty()) {
      auto seconds = ParseDuration(value);
      if (!seconds)
        return Invalid("--stage \"" + std::string(text) + "\": " + seconds.error().message());
      stage["soak_seconds"] = *seconds;
    } else if (key == "success" && !value.empty()) {
      const auto success = Percentage(value);
      if (!success) {
        return Invalid("--stage \"" + std::string(text) + "\": success must be a percentage");
      }
      stage["success_percent"] = WholeOrFraction(*success);
    } else {
      return Invalid("--stage \"" + std::string(text) + "\": unknown option \"" +
                     std::string(option) + "\" (soak=DURATION, success=PERCENT, manual)");
    }
  }
  return stage;
}

Expected<json> ParseThreshold(std::string_view text) {
  if (text.ends_with('%')) {
    const auto percent = Percentage(text);
    if (!percent)
      return Invalid("bad --threshold \"" + std::string(text) + "\": a percentage of 0 to 100");
    return json{{"percent", WholeOrFraction(*percent)}};
  }
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || count < 0) {
    return Invalid("bad --threshold \"" + std::string(text) +
                   "\": a percentage of the devices attempted (5%) or a count of failures (3)");
  }
  return json{{"count", count}};
}

Expected<json> ParseWindow(std::string_view text) {
  const auto dash = text.find('-');
  const std::string_view start = text.substr(0, dash);
  const std::string_view end =
      dash == std::string_view::npos ? std::string_view() : text.substr(dash + 1);
  if (!IsClockTime(start) || !IsClockTime(end)) {
    return Invalid("bad --window \"" + std::string(text) +
                   "\": HH:MM-HH:MM in UTC, e.g. 01:00-05:00");
  }
  return json{{"start", std::string(start)}, {"end", std::string(end)}};
}

Expected<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                            std::string_view flag) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Invalid("bad " + std::string(flag) + " \"" + std::string(text) + "\": KEY=VALUE");
  }
  return std::pair{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

Expected<json> RolloutDefinition(const RolloutFlags& flags) {
  if (flags.package.empty()) return Invalid("--package UID is required");
  json body = {{"package", flags.package}};
  if (!flags.name.empty()) body["name"] = flags.name;
  if (!flags.stages.empty()) {
    json stages = json::array();
    for (const auto& text : flags.stages) {
      auto stage = ParseStage(text);
      if (!stage) return std::unexpected(stage.error());
      stages.push_back(std::move(*stage));
    }
    body["stages"] = std::move(stages);
  }
  if (!flags.threshold.empty()) {
    auto threshold = ParseThreshold(flags.threshold);
    if (!threshold) return std::unexpected(threshold.error());
    body["failure_threshold"] = std::move(*threshold);
  }
  if (flags.min_attempted > 0) {
    if (flags.threshold.empty()) return Invalid("--min-attempted needs --threshold");
    body["failure_threshold"]["min_attempted"] = flags.min_attempted;
  }
  if (flags.rate_per_hour >= 0) body["rate_per_hour"] = flags.rate_per_hour;
  if (!flags.start_at.empty()) body["start_at"] = flags.start_at;
  if (!flags.window.empty()) {
    auto window = ParseWindow(flags.window);
    if (!window) return std::unexpected(window.error());
    body["maintenance_window"] = std::move(*window);
  }
  json filter = json::object();
  if (!flags.hardware.empty()) filter["hardware"] = flags.hardware;
  if (!flags.versions.empty()) filter["versions"] = flags.versions;
  for (const auto& [flag, key, items] :
       {std::tuple{"--identity", "identity", &flags.identity},
        std::tuple{"--attribute", "attributes", &flags.attributes}}) {
    for (const auto& text : *items) {
      auto pair = ParseKeyValue(text, flag);
      if (!pair) return std::unexpected(pair.error());
      filter[key][pair->first] = pair->second;
    }
  }
  if (!flags.devices.empty() && !filter.empty()) {
    return Invalid(
        "give either --device or filters (--hardware, --from-version, --identity, "
        "--attribute), not both");
  }
  if (!flags.devices.empty()) body["devices"] = flags.devices;
  if (!filter.empty()) body["filter"] = std::move(filter);
  if (flags.wait_for_devices) body["wait_for_devices"] = true;
  return body;
}

}  // namespace uh::admin
