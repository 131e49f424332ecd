#pragma once

// The subcommands of updatehub-pkg. Each Register* adds one subcommand to the app; when it runs
// it stores the process exit status in `status`.

#include <CLI/CLI.hpp>

#include "core/error.hpp"

namespace uh::tools {

// Exit statuses, documented in the README.
enum ExitStatus : int {
  kExitOk = 0,
  kExitError = 1,      // I/O, bad arguments, anything else
  kExitUsage = 2,      // command line not understood
  kExitMalformed = 3,  // the package is malformed or its objects do not match
  kExitSignature = 4,  // the signature is missing or does not verify
};

// Prints "updatehub-pkg: error: ..." on stderr and returns the exit status for the error.
int ReportError(const Error& error);

void RegisterKeygen(CLI::App& app, int& status);
void RegisterCreate(CLI::App& app, int& status);
void RegisterVerify(CLI::App& app, int& status);
void RegisterInspect(CLI::App& app, int& status);
void RegisterExtract(CLI::App& app, int& status);
void RegisterSign(CLI::App& app, int& status);

}  // namespace uh::tools
