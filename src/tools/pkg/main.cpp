#include <CLI/CLI.hpp>

#include "tools/pkg/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"updatehub-pkg: build, sign, verify and inspect UpdateHub packages (.uhupkg)"};
  app.set_version_flag("--version", "updatehub-pkg " UH_VERSION);
  app.require_subcommand(1);
  int status = uh::tools::kExitOk;
  uh::tools::RegisterKeygen(app, status);
  uh::tools::RegisterCreate(app, status);
  uh::tools::RegisterVerify(app, status);
  uh::tools::RegisterInspect(app, status);
  uh::tools::RegisterExtract(app, status);
  uh::tools::RegisterSign(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : uh::tools::kExitUsage;
  }
  return status;
}
