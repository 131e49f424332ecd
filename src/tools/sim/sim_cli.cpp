#include "tools/sim/sim_cli.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/names.hpp"
#include "sim/fleet.hpp"

namespace uh::tools {
namespace {

using sim::Millis;

// Seconds as given on the command line (fractions allowed) to milliseconds.
Millis ToMillis(double seconds) { return Millis(std::llround(seconds * 1000.0)); }

struct CliValues {
  double poll_interval = 60;
  double jitter = 5;
  double request_timeout = 30;
  std::optional<double> duration;
  std::optional<double> timeout;
  double progress = 0;
  std::string key;
  std::string product_token;
  std::string until_version;
  bool json = false;
};

void AddOptions(CLI::App& app, sim::FleetOptions& options, CliValues& values) {
  app.add_option("--server", options.servers,
                 "Server base URL (http:// only); several --server: the devices are spread over "
                 "them and move on to the next one when theirs cannot be reached")
      ->required();
  app.add_option("--devices", options.devices, "Number of simulated devices")
      ->capture_default_str();
  app.add_option("--product", options.product_uid, "Product UID (64 hex digits)")->required();
  app.add_option("--hardware", options.hardware, "Hardware of every device")->capture_default_str();
  app.add_option("--version", options.version,
                 "Version every device starts with (alone: print this program's version)")
      ->capture_default_str();
  app.add_option("--serial-prefix", options.serial_prefix,
                 "Device N announces device-identity {\"serial\": \"PREFIX-N\"}")
      ->capture_default_str();
  app.add_option("--poll-interval", values.poll_interval, "Seconds between probes (fractions ok)")
      ->capture_default_str();
  app.add_option("--jitter", values.jitter,
                 "Seconds: the first probe comes within [0, J], later waits are interval +/- J")
      ->capture_default_str();
  app.add_option("--failure-rate", options.failure_rate,
                 "Fraction of devices (chosen from --seed) whose updates fail at install or "
                 "validation")
      ->capture_default_str();
  app.add_option("--interrupt-rate", options.interrupt_rate,
                 "Fraction of downloads cut after a random number of bytes and resumed")
      ->capture_default_str();
  app.add_option("--connections", options.connections, "HTTP connections to the server")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of every random choice")->capture_default_str();
  app.add_option("--product-token", values.product_token,
                 "Sent as " + std::string(protocol::kProductTokenHeader));
  app.add_option("--key", values.key, "Public key (PEM): only packages signed by it are accepted");
  app.add_option("--duration", values.duration, "Stop after this many seconds");
  app.add_option("--until-version", values.until_version,
                 "Stop once every device runs this version or has failed");
  app.add_option("--timeout", values.timeout,
                 "Give up after this many seconds (the goal is then missed)");
  app.add_option("--request-timeout", values.request_timeout,
                 "Seconds for each connect, send and read of a request")
      ->capture_default_str();
  app.add_option("--progress", values.progress, "A progress line to stderr every N seconds");
  app.add_flag("--json", values.json, "Print the summary as JSON");
}

int ExitStatus(const sim::Summary& summary) {
  if (summary.goal_version) return summary.GoalMet() ? kSimGoalMet : kSimGoalMissed;
  const bool clean =
      summary.end != sim::EndReason::kTimeout && summary.failed == summary.failed_planned;
  return clean ? kSimGoalMet : kSimGoalMissed;
}

}  // namespace

int RunSimCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  // --version is the devices' version in a run (which needs --server and --product); alone, it
  // asks for the program's, as with the other programs.
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    out << "updatehub-sim " UH_VERSION "\n";
    return kSimGoalMet;
  }
  CLI::App app{"updatehub-sim: a fleet of simulated UpdateHub devices against one or more servers"};
  sim::FleetOptions options;
  CliValues values;
  AddOptions(app, options, values);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? 0 : kSimUsage;
  }
  options.poll_interval = ToMillis(values.poll_interval);
  options.jitter = ToMillis(values.jitter);
  options.request_timeout = ToMillis(values.request_timeout);
  options.progress = ToMillis(values.progress);
  if (values.duration) options.duration = ToMillis(*values.duration);
  if (values.timeout) options.timeout = ToMillis(*values.timeout);
  if (!values.until_version.empty()) options.until_version = values.until_version;
  if (!values.product_token.empty()) options.product_token = values.product_token;
  options.retry_base = std::min(Millis(std::chrono::seconds(1)), options.poll_interval);
  options.handle_signals = true;
  if (!values.key.empty()) {
    auto key = package::PublicKey::Load(values.key);
    if (!key) {
      err << "updatehub-sim: --key " << values.key << ": " << key.error().message() << "\n";
      return kSimUsage;
    }
    options.public_key = std::move(*key);
  }
  if (auto valid = sim::ValidateOptions(options); !valid) {
    err << "updatehub-sim: " << valid.error().message() << "\n";
    return kSimUsage;
  }
  auto fleet = sim::Fleet::Create(std::move(options));
  if (!fleet) {
    err << "updatehub-sim: " << fleet.error().message() << "\n";
    return kSimGoalMissed;
  }
  const sim::Summary summary = (*fleet)->Run();
  if (values.json) {
    out << sim::SummaryJson(summary).dump(2) << "\n";
  } else {
    out << sim::FormatSummary(summary);
  }
  return ExitStatus(summary);
}

}  // namespace uh::tools
