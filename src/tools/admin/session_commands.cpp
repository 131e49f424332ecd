// login and logout: the session token kept in the config file (config_file.hpp).

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "tools/admin/cli.hpp"
#include "tools/admin/config_file.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxPasswordBytes = 4096;

// One line from `fd`, without its end of line; kCancelled on Ctrl-C (read interrupted).
Expected<std::string> ReadSecretLine(int fd) {
  std::string line;
  char c = 0;
  while (line.size() <= kMaxPasswordBytes) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) {
      if (Interrupted().load()) return Fail(Errc::kCancelled, "interrupted");
      continue;
    }
    if (n < 0) return FailErrno("reading the password");
    if (n == 0 || c == '\n') break;
    line += c;
  }
  if (line.size() > kMaxPasswordBytes) return Fail(Errc::kInvalidArgument, "password too long");
  if (line.ends_with('\r')) line.pop_back();
  return line;
}

// Asks on the terminal without echo, and puts the terminal back whatever happens.
Expected<std::string> AskPassword(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  CatchInterrupt();
  auto line = ReadSecretLine(STDIN_FILENO);
  if (terminal) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << "\n";
  return line;
}

struct LoginFlags {
  std::string user = "admin";
  bool password_stdin = false;
};

Expected<void> Login(const Cli& cli, const LoginFlags& flags) {
  auto config = ConfigPath();
  if (!config) return std::unexpected(config.error());
  std::string server = cli.server;
  if (server.empty()) {
    auto stored = LoadLogin(*config);
    if (stored && *stored) server = (*stored)->server;
  }
  if (server.empty()) {
    return Fail(Errc::kInvalidArgument, "which server? Give --server URL or set UPDATEHUB_SERVER");
  }
  auto url = NormaliseServerUrl(server);
  if (!url) return std::unexpected(url.error());

  Expected<std::string> password;
  if (flags.password_stdin) {
    password = ReadSecretLine(STDIN_FILENO);
  } else if (::isatty(STDIN_FILENO) == 1) {
    password = AskPassword("password for " + flags.user + " at " + *url + ": ");
  } else {
    return Fail(Errc::kInvalidArgument,
                "no terminal to ask the password on: give it on stdin with --password-stdin");
  }
  if (!password) return std::unexpected(password.error());

  Cli anonymous = cli;
  anonymous.server = *url;
  anonymous.token.clear();
  auto client = Connect(anonymous, false);
  if (!client) return std::unexpected(client.error());
  auto reply = client->Send("POST", "/api/v1/login",
                            json{{"username", flags.user}, {"password", *password}});
  if (!reply) return std::unexpected(reply.error());
  if (reply->status == 401) {
    return Fail(Errc::kForbidden, "login refused: " + RefusalMessage(*reply));
  }
  auto answer = ReplyJson(*reply);
  if (!answer) return std::unexpected(answer.error().WithContext("login"));
  if (!answer->is_object() || !answer->contains("token") || !(*answer)["token"].is_string()) {
    return Fail(Errc::kMalformed, "the server's login answer has no token");
  }
  const std::string ca_file =
      cli.ca_file.empty() ? "" : std::filesystem::absolute(cli.ca_file).string();
  UH_TRY(SaveLogin(
      *config,
      {.server = *url, .token = (*answer)["token"].get<std::string>(), .ca_file = ca_file}));
  if (cli.json) {
    PrintJson({{"server", *url}, {"user", flags.user}, {"config", config->string()}});
  } else {
    Print("logged in to " + *url + " as " + Printable(flags.user) + " (token kept in " +
          config->string() + ")\n");
  }
  return {};
}

Expected<void> Logout(const Cli& cli) {
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  auto revoked = client->Call("POST", "/api/v1/logout");
  // The token is forgotten here in any case: it was meant to end.
  auto config = ConfigPath();
  bool forgotten = false;
  if (config) {
    auto stored = LoadLogin(*config);
    if (stored && *stored && (*stored)->token == client->options().token) {
      StoredLogin login = **stored;
      login.token.clear();
      UH_TRY(SaveLogin(*config, login));
      forgotten = true;
    }
  }
  if (!revoked && revoked.error().code() != Errc::kForbidden) {
    return std::unexpected(revoked.error().WithContext(
        forgotten ? "the token was removed here but not revoked by the server" : "logout"));
  }
  const std::string what = revoked ? "token revoked" : "the token had already ended";
  if (cli.json) {
    PrintJson({{"server", client->options().server},
               {"revoked", revoked.has_value()},
               {"forgotten", forgotten}});
  } else {
    Print("logged out of " + client->options().server + " (" + what +
          (forgotten ? ", removed from the config" : "") + ")\n");
  }
  return {};
}

}  // namespace

void RegisterSessionCommands(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<LoginFlags>();
  auto* login = app.add_subcommand("login", "log in and keep the server and token for later");
  login->add_option("-u,--user", flags->user, "user name (default admin)");
  login->add_flag("--password-stdin", flags->password_stdin,
                  "read the password from stdin (otherwise asked on the terminal)");
  OnRun(login, cli, [&cli, flags] { return Login(cli, *flags); });

  auto* logout = app.add_subcommand("logout", "revoke the stored token and forget it");
  OnRun(logout, cli, [&cli] { return Logout(cli); });
}

}  // namespace uh::admin
