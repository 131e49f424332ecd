// updatehub: the device agent. `updatehub daemon` runs it; `updatehub client ...` talks to a
// running one through its local HTTP API.

#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/api/client_cli.hpp"
#include "agent/daemon/run_daemon.hpp"
#include "agent/device/config.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "client") {
    return uh::agent::RunClient(std::vector<std::string>(argv + 2, argv + argc), std::cout,
                                std::cerr);
  }
  CLI::App app{"updatehub: the UpdateHub device agent"};
  app.set_version_flag("--version", "updatehub " UH_VERSION);
  app.require_subcommand(1);
  std::string config = "/etc/updatehub.conf";
  std::string level = "info";
  auto* daemon = app.add_subcommand("daemon", "Run the agent");
  auto* config_option = daemon->add_option(
      "-c,--config", config,
      "Config file (TOML, or the v1 INI format); without -c, /etc/updatehub.conf, and defaults "
      "when that file does not exist");
  daemon->add_option("-v,--verbosity", level, "Log level: trace, debug, info, warn, error");
  app.add_subcommand("client", "Ask the running agent (run `updatehub client --help`)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // A file named on the command line must be there: running on defaults would talk to the
  // public UpdateHub server instead of the one the user meant.
  if (config_option->count() > 0) {
    if (auto named = uh::agent::CheckNamedConfigFile(config); !named) {
      std::cerr << "updatehub: " << named.error().message() << '\n';
      return 1;
    }
  }
  return uh::agent::RunDaemon(config, level);
}
