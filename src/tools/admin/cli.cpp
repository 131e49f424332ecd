#include "tools/admin/cli.hpp"

#include <signal.h>

#include <iostream>

#include "core/json.hpp"
#include "tools/admin/config_file.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

int ExitStatusOf(const Error& error) {
  switch (error.code()) {
    case Errc::kInvalidArgument:
      return kExitUsage;
    case Errc::kIo:
    case Errc::kTimeout:
      return kExitUnreachable;
    case Errc::kCancelled:
      return kExitInterrupted;
    default:
      return kExitFailed;
  }
}

namespace {

// The stored login, when there is one and it is safe to read. Its failures only matter when it
// is `needed` (no server or no token given otherwise); they are never "cannot connect" (3).
Expected<std::optional<StoredLogin>> StoredLoginIfAny(bool needed) {
  auto path = ConfigPath();
  if (!path) {
    if (needed) return std::unexpected(path.error());
    return std::optional<StoredLogin>();
  }
  auto stored = LoadLogin(*path);
  if (!stored) {
    if (needed) return Fail(Errc::kForbidden, stored.error().message());
    return std::optional<StoredLogin>();
  }
  return stored;
}

}  // namespace

Expected<ApiClient> Connect(const Cli& cli, bool need_token) {
  ClientOptions options{.server = cli.server,
                        .token = cli.token,
                        .ca_file = cli.ca_file,
                        .insecure = cli.insecure,
                        .connect_timeout_seconds = cli.connect_timeout,
                        .timeout_seconds = cli.timeout,
                        .cancel = &Interrupted()};
  auto stored = StoredLoginIfAny(options.server.empty() || (need_token && options.token.empty()));
  if (!stored) return std::unexpected(stored.error());
  if (options.server.empty() && *stored) options.server = (*stored)->server;
  if (options.server.empty()) {
    return Fail(Errc::kInvalidArgument,
                "which server? Give --server URL, set UPDATEHUB_SERVER, or log in first");
  }
  auto server = NormaliseServerUrl(options.server);
  if (!server) return std::unexpected(server.error());
  options.server = *server;
  // What login stored only ever goes to the server it came from.
  if (*stored && (*stored)->server == options.server) {
    if (options.token.empty()) options.token = (*stored)->token;
    if (options.ca_file.empty()) options.ca_file = (*stored)->ca_file;
  }
  if (need_token && options.token.empty()) {
    return Fail(Errc::kForbidden, "not logged in to " + options.server +
                                      ": run `updatehub-admin login` (or give --token, "
                                      "UPDATEHUB_TOKEN)");
  }
  return ApiClient(std::move(options));
}

Expected<nlohmann::json> CallApi(const Cli& cli, std::string_view method, const std::string& path,
                                 const std::optional<nlohmann::json>& body) {
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  return client->Call(method, path, body);
}

void RunCommand(Cli& cli, const std::function<Expected<void>()>& body) {
  Expected<void> done;
  try {
    done = body();
  } catch (const nlohmann::json::exception& e) {
    // A reply of the right syntax but not the promised shape.
    done = Fail(Errc::kMalformed, std::string("unexpected reply from the server: ") + e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    done = Fail(Errc::kInternal, e.what());
  }
  if (done) {
    cli.status = kExitOk;
    return;
  }
  std::cout.flush();
  std::cerr << "updatehub-admin: error: " << Printable(done.error().message()) << "\n";
  cli.status = ExitStatusOf(done.error());
}

void OnRun(CLI::App* command, Cli& cli, std::function<Expected<void>()> body) {
  command->callback([&cli, body = std::move(body)] { RunCommand(cli, body); });
}

void PrintJson(const nlohmann::json& value) { std::cout << DumpJson(value, 2) << "\n"; }

void Print(const std::string& text) { std::cout << text << std::flush; }

Expected<void> Output(const Cli& cli, const Expected<nlohmann::json>& reply,
                      const std::function<std::string(const nlohmann::json&)>& render) {
  if (!reply) return std::unexpected(reply.error());
  if (cli.json) {
    PrintJson(*reply);
  } else {
    Print(render(*reply));
  }
  return {};
}

const nlohmann::json& ListIn(const nlohmann::json& reply, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!reply.is_object() || !reply.contains(key) || !reply[key].is_array()) return kEmpty;
  return reply[key];
}

std::atomic<bool>& Interrupted() {
  static std::atomic<bool> interrupted{false};
  return interrupted;
}

namespace {

void OnInterrupt(int) { Interrupted().store(true); }

}  // namespace

void CatchInterrupt() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
}

int RunAdmin(int argc, char** argv) {
  CLI::App app{
      "updatehub-admin: the management API of updatehub-server from a terminal or a "
      "script"};
  app.set_version_flag("--version", "updatehub-admin " UH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options after the subcommand too
  app.footer(
      "Exit status: 0 done, 1 the server refused or failed, 2 usage error, 3 cannot connect.\n"
      "Login: `updatehub-admin login` keeps the server and token in "
      "$XDG_CONFIG_HOME/updatehub-admin/config.json.");
  Cli cli;
  app.add_option("--server", cli.server, "the server's URL, e.g. https://updates.example.com")
      ->envname("UPDATEHUB_SERVER");
  app.add_option("--token", cli.token, "an API token (default: the one `login` stored)")
      ->envname("UPDATEHUB_TOKEN");
  app.add_flag("--json", cli.json, "print the server's JSON as it is, for scripts");
  app.add_option("--cacert", cli.ca_file, "CA certificates (PEM) to verify the server with")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", cli.insecure, "do not verify the server's TLS certificate");
  app.add_option("--connect-timeout", cli.connect_timeout, "seconds to connect (default 10)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--timeout", cli.timeout, "seconds for a request (default 120; uploads: none)")
      ->check(CLI::Range(1, 86400));

  RegisterSessionCommands(app, cli);
  RegisterProductCommands(app, cli);
  RegisterKeyCommands(app, cli);
  RegisterPackageCommands(app, cli);
  RegisterRolloutCommands(app, cli);
  RegisterDeviceCommands(app, cli);
  RegisterAuditCommand(app, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return cli.status;
}

}  // namespace uh::admin
