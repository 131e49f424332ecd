#include "agent/api/client_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "agent/api/api_client.hpp"
#include "agent/api/install_watch.hpp"
#include "core/json.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;

struct Context {
  LocalApiClient client;
  bool json_output = false;
  std::ostream& out;
  std::ostream& err;
  const ClientRunOptions& options;
};

int Failed(Context& ctx, std::string_view message) {
  ctx.err << "error: " << message << '\n';
  return 1;
}

std::optional<json> ParseBody(const ApiReply& reply) {
  auto parsed = ParseJson(reply.body, JsonLimits{.max_depth = 64, .max_bytes = 8 << 20});
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

// What a failed reply says: its {"error": ...}, its bare JSON string, or the start of its body.
std::string ReplyText(const ApiReply& reply) {
  if (const auto body = ParseBody(reply)) {
    if (body->is_object() && body->contains("error") && (*body)["error"].is_string()) {
      return (*body)["error"].get<std::string>();
    }
    if (body->is_string()) return body->get<std::string>();
  }
  std::string text = reply.body.substr(0, 200);
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

int UnexpectedReply(Context& ctx, const ApiReply& reply) {
  return Failed(ctx, "the agent at " + ctx.client.address() + " answered HTTP " +
                         std::to_string(reply.status) + ": " + ReplyText(reply));
}

int Busy(Context& ctx, std::string_view state) {
  return Failed(ctx,
                "the agent is busy (current state: " + std::string(state) + "); try again later");
}

int RunInfo(Context& ctx) {
  auto reply = ctx.client.Get("/info", ctx.options.request_timeout);
  if (!reply) return Failed(ctx, reply.error().message());
  const auto body = ParseBody(*reply);
  if (reply->status != 200 || !body) return UnexpectedReply(ctx, *reply);
  ctx.out << DumpJson(*body, ctx.json_output ? -1 : 2) << '\n';
  return 0;
}

std::string_view ShortLevel(std::string_view level) {
  if (level == "critical") return "CRIT";
  if (level == "error") return "ERRO";
  if (level == "warning") return "WARN";
  if (level == "info") return "INFO";
  if (level == "debug") return "DEBG";
  if (level == "trace") return "TRCE";
  return level;
}

std::string Field(const json& entry, std::string_view name) {
  const auto it = entry.find(std::string(name));
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void PrintEntry(Context& ctx, const json& entry) {
  if (ctx.json_output) {
    ctx.out << DumpJson(entry) << '\n';
    return;
  }
  ctx.out << Field(entry, "time") << ' ' << ShortLevel(Field(entry, "level")) << ' '
          << Field(entry, "message");
  if (const auto data = entry.find("data"); data != entry.end() && data->is_object()) {
    for (const auto& [key, value] : data->items()) {
      ctx.out << ' ' << key << '='
              << (value.is_string() ? value.get<std::string>() : DumpJson(value));
    }
  }
  ctx.out << '\n';
}

struct LogPage {
  json entries = json::array();
  std::uint64_t first_index = 0;
};

// Upstream's /log answer {"entries": [...], "first_index": N}; older agents sent the bare array.
std::optional<LogPage> ParseLogPage(const json& body) {
  LogPage page;
  if (body.is_array()) {
    page.entries = body;
  } else if (body.is_object() && body.contains("entries") && body["entries"].is_array()) {
    page.entries = body["entries"];
    if (const auto it = body.find("first_index"); it != body.end() && it->is_number_unsigned()) {
      page.first_index = it->get<std::uint64_t>();
    }
  } else {
    return std::nullopt;
  }
  return page;
}

Expected<LogPage> FetchLog(Context& ctx, json* raw = nullptr) {
  auto reply = ctx.client.Get("/log", ctx.options.request_timeout);
  if (!reply) return std::unexpected(std::move(reply.error()));
  const auto body = ParseBody(*reply);
  std::optional<LogPage> page;
  if (reply->status == 200 && body) page = ParseLogPage(*body);
  if (!page) {
    return Fail(Errc::kMalformed, "the agent at " + ctx.client.address() + " answered HTTP " +
                                      std::to_string(reply->status) + ": " + ReplyText(*reply));
  }
  if (raw != nullptr) *raw = *body;
  return std::move(*page);
}

int RunLog(Context& ctx, bool watch) {
  if (!watch) {
    json raw;
    auto page = FetchLog(ctx, &raw);
    if (!page) return Failed(ctx, page.error().message());
    if (ctx.json_output) {
      ctx.out << DumpJson(raw) << '\n';
    } else {
      for (const auto& entry : page->entries) PrintEntry(ctx, entry);
    }
    return 0;
  }
  // Entries are numbered from first_index on; print each number once. A smaller end than
  // already printed means the agent restarted: start over.
  std::uint64_t next = 0;
  for (;;) {
    auto page = FetchLog(ctx);
    if (!page) return Failed(ctx, page.error().message());
    const std::uint64_t end = page->first_index + page->entries.size();
    if (end < next) next = 0;
    for (std::uint64_t index = std::max(next, page->first_index); index < end; ++index) {
      PrintEntry(ctx, page->entries[index - page->first_index]);
    }
    next = end;
    ctx.out.flush();
    if (ctx.options.stop_watching && ctx.options.stop_watching()) return 0;
    std::this_thread::sleep_for(ctx.options.watch_interval);
  }
}

int RunProbe(Context& ctx, const std::optional<std::string>& server) {
  std::optional<std::string> request;
  if (server) request = DumpJson(json{{"custom_server", *server}});
  auto reply = ctx.client.Post("/probe", request, ctx.options.action_timeout);
  if (!reply) return Failed(ctx, reply.error().message());
  const auto body = ParseBody(*reply);
  if (!body) return UnexpectedReply(ctx, *reply);

  if (reply->status == 200 && body->is_object() && body->contains("try_again") &&
      (*body)["try_again"].is_number_integer()) {
    if (ctx.json_output) {
      ctx.out << DumpJson(*body) << '\n';
    } else {
      ctx.out << "Server replied asking us to try again in " << (*body)["try_again"].dump()
              << " seconds\n";
    }
    return 0;
  }
  if (reply->status == 200 && body->is_string()) {
    const auto& answer = body->get_ref<const std::string&>();
    if (answer != "updating" && answer != "no_update") return Busy(ctx, answer);
    if (ctx.json_output) {
      ctx.out << DumpJson(*body) << '\n';
    } else if (answer == "updating") {
      ctx.out << "Update available. The update is running in background.\n";
    } else {
      ctx.out << "There are no updates available.\n";
    }
    return 0;
  }
  // Older agents answered a busy probe with 202 or 406.
  if ((reply->status == 202 || reply->status == 406) && body->is_string()) {
    return Busy(ctx, body->get<std::string>());
  }
  return UnexpectedReply(ctx, *reply);
}

int RunAbortDownload(Context& ctx) {
  auto reply = ctx.client.Post("/update/download/abort", std::nullopt, ctx.options.request_timeout);
  if (!reply) return Failed(ctx, reply.error().message());
  const auto body = ParseBody(*reply);
  if (reply->status == 200 && body && body->is_object()) {
    if (ctx.json_output) {
      ctx.out << DumpJson(*body) << '\n';
    } else {
      const std::string message = Field(*body, "message");
      ctx.out << (message.empty() ? "Download aborted" : message) << '\n';
    }
    return 0;
  }
  if (reply->status == 406 || reply->status == 400) return Failed(ctx, ReplyText(*reply));
  return UnexpectedReply(ctx, *reply);
}

bool IsUrl(std::string_view text) {
  return text.starts_with("http://") || text.starts_with("https://");
}

// The index after the last entry of the agent's log: where entries about a request sent now
// will start.
Expected<std::uint64_t> LogEnd(Context& ctx) {
  auto page = FetchLog(ctx);
  if (!page) return std::unexpected(std::move(page.error()));
  return page->first_index + page->entries.size();
}

// Reads the agent's log from `next` on until the watch has its verdict (install_watch.hpp).
int WaitForVerdict(Context& ctx, std::uint64_t next, const std::string& accepted_from) {
  InstallWatch watch;
  const auto deadline = std::chrono::steady_clock::now() + ctx.options.install_wait;
  // A failure whose reason has not been logged yet gets a moment more for it.
  std::optional<std::chrono::steady_clock::time_point> reason_deadline;
  while (!watch.done()) {
    auto page = FetchLog(ctx);
    if (!page) {
      return Failed(
          ctx, page.error().message() + " while waiting for the verdict on the package" +
                   (watch.state().empty() ? "" : " (last seen in state " + watch.state() + ")"));
    }
    const std::uint64_t end = page->first_index + page->entries.size();
    if (end < next) return Failed(ctx, "the agent restarted while the package was installing");
    for (std::uint64_t index = std::max(next, page->first_index); index < end && !watch.done();
         ++index) {
      const auto progress = watch.Read(page->entries[index - page->first_index]);
      if (progress && !ctx.json_output) ctx.out << *progress << '\n' << std::flush;
    }
    next = end;
    if (watch.done()) break;
    const auto now = std::chrono::steady_clock::now();
    if (watch.verdict() == InstallWatch::Verdict::kFailed) {
      if (!reason_deadline) reason_deadline = now + std::chrono::seconds(5);
      if (now >= *reason_deadline) break;
    } else if (now >= deadline) {
      const auto waited = std::chrono::ceil<std::chrono::seconds>(ctx.options.install_wait);
      return Failed(ctx, "no verdict on the package after " + std::to_string(waited.count()) +
                             " s; it may still be installing: follow it with 'updatehub client "
                             "log --watch'");
    }
    std::this_thread::sleep_for(ctx.options.install_poll_interval);
  }
  const bool installed = watch.verdict() == InstallWatch::Verdict::kInstalled;
  if (ctx.json_output) {
    ctx.out << DumpJson(json{{"accepted_from", accepted_from},
                             {"result", installed ? "installed" : "failed"},
                             {"detail", watch.detail()}})
            << '\n';
    return installed ? 0 : 1;
  }
  if (!installed) return Failed(ctx, "the package was not installed: " + watch.detail());
  ctx.out << "Package " << watch.detail() << '\n';
  return 0;
}

int RunInstallPackage(Context& ctx, const std::string& package, bool wait) {
  std::string path;
  json request;
  if (IsUrl(package)) {
    path = "/remote_install";
    request = {{"url", package}};
  } else {
    std::error_code ec;
    const auto file = std::filesystem::absolute(package, ec).lexically_normal();
    if (ec || !std::filesystem::is_regular_file(file, ec)) {
      return Failed(ctx, package + ": no such file (nor an http or https URL)");
    }
    path = "/local_install";
    request = {{"file", file.string()}};
  }
  std::string body;
  try {
    body = request.dump();
  } catch (const json::exception&) {
    return Failed(ctx, package + ": not valid UTF-8");
  }
  std::uint64_t log_end = 0;
  if (wait) {
    auto end = LogEnd(ctx);
    if (!end) return Failed(ctx, end.error().message());
    log_end = *end;
  }
  auto reply = ctx.client.Post(path, body, ctx.options.action_timeout);
  if (!reply) return Failed(ctx, reply.error().message());
  const auto answer = ParseBody(*reply);
  if (!answer || !answer->is_string()) {
    if (reply->status == 400) return Failed(ctx, "the agent refused: " + ReplyText(*reply));
    return UnexpectedReply(ctx, *reply);
  }
  const auto& state = answer->get_ref<const std::string&>();
  if (reply->status == 406 || reply->status == 422) return Busy(ctx, state);
  if (reply->status != 200) return UnexpectedReply(ctx, *reply);
  if (wait) {
    if (!ctx.json_output) {
      ctx.out << "Install request accepted from '" << state << "' state\n" << std::flush;
    }
    return WaitForVerdict(ctx, log_end, state);
  }
  if (ctx.json_output) {
    ctx.out << DumpJson(*answer) << '\n';
  } else {
    ctx.out << "Install request accepted from '" << state << "' state\n"
            << "Run 'updatehub client log --watch' to follow the log's progress\n";
  }
  return 0;
}

}  // namespace

int RunClient(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const ClientRunOptions& options) {
  CLI::App app("Query or send control commands to the UpdateHub agent daemon", "updatehub client");
  app.require_subcommand(1, 1);
  app.fallthrough();  // global options are accepted after the command too

  std::string address(kDefaultDaemonAddress);
  bool json_output = false;
  app.add_option("--daemon-address,--address", address,
                 "Address where the UpdateHub agent daemon listens (HOST:PORT)")
      ->capture_default_str();
  app.add_flag("--json-output", json_output, "Print the agent's answers as JSON");

  auto* info = app.add_subcommand("info", "Show the agent's state, version and settings");
  auto* log = app.add_subcommand("log", "Show the agent's recent log");
  bool watch = false;
  log->add_flag("-w,--watch", watch, "Keep printing new log entries");
  auto* probe = app.add_subcommand("probe", "Ask the server now whether there is an update");
  std::optional<std::string> server;
  probe->add_option("--server", server, "Probe this server instead of the configured one");
  auto* abort = app.add_subcommand("abort-download", "Abort the download in progress");
  auto* install =
      app.add_subcommand("install-package", "Install a package from a local path or a URL");
  std::string package;
  install->add_option("package", package, "Path or http(s) URL of the update package")->required();
  bool no_wait = false;
  install->add_flag("--no-wait", no_wait,
                    "Return once the agent accepts the request, without waiting for the verdict");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e, out, err);
    return status == 0 ? 0 : 2;
  }

  Context ctx{LocalApiClient(address), json_output, out, err, options};
  if (*info) return RunInfo(ctx);
  if (*log) return RunLog(ctx, watch);
  if (*probe) return RunProbe(ctx, server);
  if (*abort) return RunAbortDownload(ctx);
  if (*install) return RunInstallPackage(ctx, package, !no_wait);
  return 2;
}

}  // namespace uh::agent
