#pragma once

// What the commands of updatehub-admin share: the global options, the connection to the server
// they name, the exit statuses, and how a command's result is printed.

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "tools/admin/api_client.hpp"

namespace uh::admin {

// Exit statuses, documented in the README.
enum ExitStatus : int {
  kExitOk = 0,
  kExitFailed = 1,       // the server refused or failed (its message is printed)
  kExitUsage = 2,        // command line not understood
  kExitUnreachable = 3,  // cannot connect, TLS failed, no answer in time
  kExitInterrupted = 130,
};

[[nodiscard]] int ExitStatusOf(const Error& error);

// The global options, and the exit status the command that ran leaves.
struct Cli {
  std::string server;  // --server, UPDATEHUB_SERVER
  std::string token;   // --token, UPDATEHUB_TOKEN
  std::string ca_file;
  bool insecure = false;
  bool json = false;
  long connect_timeout = 10;
  long timeout = 120;
  int status = kExitOk;
};

// The whole program: parses the command line, runs the command, returns the exit status.
[[nodiscard]] int RunAdmin(int argc, char** argv);

// A client for the server the options name (or the login names), with the token from
// --token, UPDATEHUB_TOKEN or the login of that same server. Without a token the error says to
// log in, unless `need_token` is false.
[[nodiscard]] Expected<ApiClient> Connect(const Cli& cli, bool need_token = true);

// Connect() and ApiClient::Call() in one.
[[nodiscard]] Expected<nlohmann::json> CallApi(
    const Cli& cli, std::string_view method, const std::string& path,
    const std::optional<nlohmann::json>& body = std::nullopt);

// Runs a command's `body`: its error is printed ("updatehub-admin: error: ...") and its exit
// status stored in cli.status.
void RunCommand(Cli& cli, const std::function<Expected<void>()>& body);
// Makes RunCommand(body) the callback of `command`.
void OnRun(CLI::App* command, Cli& cli, std::function<Expected<void>()> body);

// JSON for --json: indented, on stdout.
void PrintJson(const nlohmann::json& value);
// Text on stdout as it is (already made printable).
void Print(const std::string& text);
// A command's reply: its error, or the reply printed as JSON (--json) or as `render` makes it.
[[nodiscard]] Expected<void> Output(
    const Cli& cli, const Expected<nlohmann::json>& reply,
    const std::function<std::string(const nlohmann::json&)>& render);
// `reply[key]` when it is a list, else an empty list.
[[nodiscard]] const nlohmann::json& ListIn(const nlohmann::json& reply, const char* key);

// Set by SIGINT while a command that handles it (rollouts watch) runs.
[[nodiscard]] std::atomic<bool>& Interrupted();
// Makes SIGINT set Interrupted() instead of ending the process.
void CatchInterrupt();

// The subcommands, one file each.
void RegisterSessionCommands(CLI::App& app, Cli& cli);
void RegisterProductCommands(CLI::App& app, Cli& cli);
void RegisterKeyCommands(CLI::App& app, Cli& cli);
void RegisterPackageCommands(CLI::App& app, Cli& cli);
void RegisterRolloutCommands(CLI::App& app, Cli& cli);
void RegisterDeviceCommands(CLI::App& app, Cli& cli);
void RegisterAuditCommand(CLI::App& app, Cli& cli);

}  // namespace uh::admin
