// rollouts: list, create, preview, show, watch, the control actions, retry, devices.

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "core/fs.hpp"
#include "core/json.hpp"
#include "tools/admin/cli.hpp"
#include "tools/admin/rollout_spec.hpp"
#include "tools/admin/rollout_view.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxDefinitionBytes = 1024 * 1024;

struct RolloutCommandFlags {
  std::string product;
  bool archived = false;
  std::string file;  // a JSON definition instead of the flags
  RolloutFlags definition;
  std::int64_t id = 0;
  std::vector<std::int64_t> retry_devices;
  std::string state;       // rollouts devices --state
  std::int64_t after = 0;  // rollouts devices --after
  double interval = 2;
  std::string threshold;  // resume --threshold
};

std::string RolloutPath(std::int64_t id) { return "/api/v1/rollouts/" + std::to_string(id); }

// The creation body: --file, or the flags.
Expected<json> DefinitionOf(const RolloutCommandFlags& flags) {
  if (flags.file.empty()) return RolloutDefinition(flags.definition);
  auto text = ReadFileLimited(flags.file, kMaxDefinitionBytes);
  if (!text)
    return Fail(Errc::kInvalidArgument, "reading " + flags.file + ": " + text.error().message());
  auto body = ParseJson(*text);
  if (!body || !body->is_object()) {
    return Fail(Errc::kInvalidArgument,
                flags.file + " is not a JSON object" + (body ? "" : ": " + body.error().message()));
  }
  return body;
}

void AddDefinitionOptions(CLI::App* command, RolloutCommandFlags& flags) {
  RolloutFlags& d = flags.definition;
  command->add_option("-p,--product", flags.product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT")
      ->required();
  auto* file = command
                   ->add_option("-f,--file", flags.file,
                                "the definition as JSON (RolloutDefinition of the API)")
                   ->check(CLI::ExistingFile);
  const std::vector<CLI::Option*> flag_options = {
      command->add_option("--package", d.package, "package UID"),
      command->add_option("--name", d.name, "a name for people"),
      command->add_option("--stage", d.stages,
                          "a stage, cumulative, repeatable: PERCENT[%][:soak=DURATION,"
                          "success=PERCENT,manual], e.g. --stage 10%:soak=1h --stage 100"),
      command->add_option("--threshold", d.threshold,
                          "pause when failures pass this: 5% of the devices attempted, or a count"),
      command->add_option("--min-attempted", d.min_attempted,
                          "devices attempted before the threshold applies"),
      command->add_option("--rate", d.rate_per_hour,
                          "devices started per hour at most (0: no limit)"),
      command->add_option("--start-at", d.start_at, "start time, UTC: 2026-12-01T02:00:00Z"),
      command->add_option("--window", d.window, "daily maintenance window, UTC: 01:00-05:00"),
      command->add_option("--device", d.devices, "explicit device ids (repeatable)"),
      command->add_option("--hardware", d.hardware, "filter: hardware (repeatable)"),
      command->add_option("--from-version", d.versions, "filter: current version (repeatable)"),
      command->add_option("--identity", d.identity, "filter: KEY=VALUE of the identity"),
      command->add_option("--attribute", d.attributes, "filter: KEY=VALUE of the attributes"),
      command->add_flag("--wait-for-devices", d.wait_for_devices,
                        "create a filter rollout before its devices exist"),
  };
  for (auto* option : flag_options) option->excludes(file);
}

std::string PreviewView(const json& reply) {
  std::string out = KeyValues({{"matching devices", Field(reply, "matching_devices")},
                               {"excluded", Field(reply, "excluded")}});
  if (!ListIn(reply, "unknown_device_ids").empty()) {
    out += "unknown device ids: " + Field(reply, "unknown_device_ids") + "\n";
  }
  return out;
}

std::string MemberTable(const json& reply) {
  Table table({"DEVICE", "IDENTITY", "HARDWARE", "VERSION", "STAGE", "STATE", "RETRIES", "ERROR",
               "UPDATED"});
  for (const auto& device : ListIn(reply, "devices")) {
    const json stage =
        device.is_object() && device.contains("stage") && device["stage"].is_number_integer()
            ? json(device["stage"].get<std::int64_t>() + 1)
            : json();
    table.AddRow({Field(device, "device_id"), Field(device, "identity"), Field(device, "hardware"),
                  Field(device, "version"), Cell(stage), Field(device, "state"),
                  Field(device, "retries"), Field(device, "error_message"),
                  Field(device, "updated_at")});
  }
  std::string out = table.Render();
  if (reply.is_object() && reply.contains("next_after")) {
    out += "(more: --after " + Field(reply, "next_after") + ")\n";
  }
  return out;
}

// The frame with each line cut to the terminal's width, so that redrawing it in place moves up
// exactly as many lines as it drew.
std::string FitToTerminal(const std::string& frame) {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col < 20) return frame;
  const std::size_t columns = size.ws_col - 1u;
  std::string out;
  std::size_t start = 0;
  while (start < frame.size()) {
    std::size_t end = frame.find('\n', start);
    if (end == std::string::npos) end = frame.size();
    std::string line = frame.substr(start, end - start);
    if (line.size() > columns) {
      std::size_t cut = columns;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
      line.resize(cut);
    }
    out += line + "\n";
    start = end + 1;
  }
  return out;
}

// Polls the rollout until it ends or Ctrl-C, redrawing its frame in place on a terminal and
// printing each new frame otherwise.
Expected<void> Watch(const Cli& cli, const RolloutCommandFlags& flags) {
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  CatchInterrupt();
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  std::string previous;
  std::size_t drawn_lines = 0;
  while (true) {
    auto rollout = client->Call("GET", RolloutPath(flags.id));
    if (!rollout) return std::unexpected(rollout.error());
    if (cli.json) {  // one line per change
      const std::string line = DumpJson(*rollout);
      if (line != previous) std::cout << line << std::endl;
      previous = line;
    } else if (terminal) {  // the frame drawn again over the last one
      const std::string frame = FitToTerminal(RolloutFrame(*rollout));
      if (drawn_lines > 0) std::cout << "\033[" << drawn_lines << "A\033[J";
      std::cout << frame << std::flush;
      drawn_lines = static_cast<std::size_t>(std::count(frame.begin(), frame.end(), '\n'));
    } else {  // a log: each new frame once
      const std::string frame = RolloutFrame(*rollout);
      if (frame != previous) std::cout << frame << "\n" << std::flush;
      previous = frame;
    }
    if (RolloutEnded(*rollout)) {
      if (Field(*rollout, "state") == "stopped") {
        return Fail(Errc::kInternal, "rollout " + std::to_string(flags.id) +
                                         " stopped: " + Field(*rollout, "reason"));
      }
      return {};
    }
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(flags.interval * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (Interrupted().load()) return Fail(Errc::kCancelled, "interrupted");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

Expected<void> Control(const Cli& cli, const RolloutCommandFlags& flags,
                       const std::string& action) {
  std::optional<json> body;
  if (action == "resume" && !flags.threshold.empty()) {
    auto threshold = ParseThreshold(flags.threshold);
    if (!threshold) return std::unexpected(threshold.error());
    body = json{{"failure_threshold", *threshold}};
  }
  return Output(cli, CallApi(cli, "POST", RolloutPath(flags.id) + "/" + action, body),
                [](const json& rollout) { return RolloutSummary(rollout); });
}

}  // namespace

void RegisterRolloutCommands(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<RolloutCommandFlags>();
  auto* rollouts = app.add_subcommand("rollouts", "create, follow and control rollouts");
  rollouts->require_subcommand(1);

  auto* list = rollouts->add_subcommand("list", "list a product's rollouts");
  list->add_option("-p,--product", flags->product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT")
      ->required();
  list->add_flag("--archived", flags->archived, "the finished and stopped ones");
  OnRun(list, cli, [&cli, flags] {
    return Output(cli,
                  CallApi(cli, "GET",
                          "/api/v1/products/" + UrlEncode(flags->product) + "/rollouts" +
                              (flags->archived ? "?archived=true" : "")),
                  [](const json& reply) { return RolloutTable(ListIn(reply, "rollouts")); });
  });

  auto* create = rollouts->add_subcommand("create",
                                          "create a rollout (it starts at once "
                                          "without --start-at)");
  AddDefinitionOptions(create, *flags);
  OnRun(create, cli, [&cli, flags] {
    auto body = DefinitionOf(*flags);
    if (!body) return Expected<void>(std::unexpected(body.error()));
    return Output(
        cli,
        CallApi(cli, "POST", "/api/v1/products/" + UrlEncode(flags->product) + "/rollouts", *body),
        [](const json& rollout) {
          std::string note;
          if (rollout.is_object() && rollout.value("start_at_in_past", false)) {
            note = "(start_at had passed: started at once)\n";
          }
          return note + RolloutSummary(rollout);
        });
  });

  auto* preview = rollouts->add_subcommand(
      "preview", "how many devices a rollout with these options would take now");
  AddDefinitionOptions(preview, *flags);
  OnRun(preview, cli, [&cli, flags] {
    auto body = DefinitionOf(*flags);
    if (!body) return Expected<void>(std::unexpected(body.error()));
    return Output(
        cli,
        CallApi(cli, "POST", "/api/v1/products/" + UrlEncode(flags->product) + "/rollouts/preview",
                *body),
        PreviewView);
  });

  auto* show = rollouts->add_subcommand("show", "a rollout: state, why it waits, its stages");
  show->add_option("id", flags->id, "rollout id")->required();
  OnRun(show, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "GET", RolloutPath(flags->id)),
                  [](const json& rollout) { return RolloutSummary(rollout); });
  });

  auto* watch = rollouts->add_subcommand(
      "watch", "follow a rollout live until it finishes (exit 0) or stops (exit 1); Ctrl-C: 130");
  watch->add_option("id", flags->id, "rollout id")->required();
  watch->add_option("--interval", flags->interval, "seconds between updates (default 2)")
      ->check(CLI::Range(0.1, 3600.0));
  OnRun(watch, cli, [&cli, flags] { return Watch(cli, *flags); });

  for (const auto& [action, help] : std::vector<std::pair<std::string, std::string>>{
           {"pause", "pause a rollout"},
           {"resume", "resume a paused rollout (--threshold: a new failure threshold)"},
           {"advance", "start the next stage now"},
           {"stop", "stop a rollout for good (archives it)"},
           {"start", "start a scheduled rollout now"}}) {
    auto* command = rollouts->add_subcommand(action, help);
    command->add_option("id", flags->id, "rollout id")->required();
    if (action == "resume") {
      command->add_option("--threshold", flags->threshold, "a new failure threshold: 10% or 5");
    }
    OnRun(command, cli, [&cli, flags, action] { return Control(cli, *flags, action); });
  }

  auto* retry = rollouts->add_subcommand(
      "retry", "offer the package again to failed devices (all of them without DEVICE)");
  retry->add_option("id", flags->id, "rollout id")->required();
  retry->add_option("devices", flags->retry_devices, "device ids");
  OnRun(retry, cli, [&cli, flags] {
    // No body: every failed device of the rollout.
    std::optional<json> body;
    if (!flags->retry_devices.empty()) body = json{{"devices", flags->retry_devices}};
    return Output(cli, CallApi(cli, "POST", RolloutPath(flags->id) + "/retry", body),
                  [](const json& rollout) {
                    return "retried devices: " + Field(rollout, "retried_devices") + "\n" +
                           RolloutSummary(rollout);
                  });
  });

  auto* members = rollouts->add_subcommand("devices", "a rollout's devices, their state and error");
  members->add_option("id", flags->id, "rollout id")->required();
  members->add_option("--state", flags->state, "only this state")
      ->check(CLI::IsMember(
          {"pending", "downloading", "installing", "rebooting", "updated", "failed"}));
  members->add_option("--after", flags->after, "the page after this device id");
  OnRun(members, cli, [&cli, flags] {
    return Output(cli,
                  CallApi(cli, "GET",
                          RolloutPath(flags->id) + "/devices?limit=1000" +
                              (flags->state.empty() ? "" : "&state=" + flags->state) +
                              (flags->after > 0 ? "&after=" + std::to_string(flags->after) : "")),
                  MemberTable);
  });
}

}  // namespace uh::admin
