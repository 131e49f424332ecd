#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "server/audit.hpp"
#include "server/backup.hpp"
#include "server/server_app.hpp"
#include "server/server_log.hpp"
#include "server/store/postgres/migrations.hpp"
#include "server/store/sqlite/migrations.hpp"

namespace {

// `backup DEST`: what was saved, and what the operator still has to do.
int RunBackup(const uh::server::ServerConfig& config, const std::string& dest) {
  auto summary = uh::server::Backup(config, dest);
  if (!summary) {
    std::cerr << "updatehub-server: backup failed: " << summary.error().message() << "\n";
    return 1;
  }
  const double mib = static_cast<double>(summary->object_bytes) / (1024.0 * 1024.0);
  std::cout << "Backup of " << config.data_dir.string() << " complete in " << dest << ": "
            << (summary->database ? "the database (SQLite) and " : "") << summary->objects
            << " objects (" << std::fixed << std::setprecision(1) << mib << " MiB";
  if (summary->linked > 0) {
    std::cout << ", " << summary->linked
              << " of them hard links to the data directory's files: copy the backup to another "
                 "disk to survive the loss of this one";
  }
  std::cout << ").\n";
  if (!config.objects_dir.empty()) {
    std::cout << "The objects come from objects_dir " << config.objects_dir.string()
              << " and are in " << dest
              << "/objects: to restore, copy them back there, or point objects_dir at them.\n";
  }
  if (!summary->database) {
    std::cout << "The database is PostgreSQL: it is NOT in this backup. Back it up with pg_dump "
                 "(pg_dump -Fc -f updatehub.dump URL), before this command, so that every "
                 "object the dump refers to is here.\n"
              << "Restore: pg_restore the dump into an empty database, then start a server with "
                 "--data-dir "
              << dest << " --database URL-of-that-database.\n";
  } else {
    std::cout << "Restore: start a server with --data-dir " << dest << ".\n";
  }
  return 0;
}

// Where the schema stands, whichever the backend.
struct Schema {
  std::int64_t version = 0;
  std::int64_t latest = 0;
  std::vector<std::int64_t> pending;
};

// The SQLite file of a store URL, as OpenStore reads it.
uh::Expected<std::filesystem::path> SqlitePathOf(const std::string& url) {
  std::string_view path = url;
  for (const std::string_view scheme : {"sqlite://", "sqlite:"}) {
    if (path.starts_with(scheme)) {
      path.remove_prefix(scheme.size());
      break;
    }
  }
  if (path.find("://") != std::string_view::npos) {
    return uh::Fail(uh::Errc::kInvalidArgument,
                    "unsupported store URL \"" + url + "\": use sqlite:PATH or postgresql://...");
  }
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return uh::Fail(uh::Errc::kInvalidArgument,
                    "store URL \"" + url + "\": the store needs a file path");
  }
  return std::filesystem::path(path);
}

// Reads the schema's version without changing anything (nor creating a SQLite file).
uh::Expected<Schema> ReadSchema(const uh::server::ServerConfig& config) {
  auto convert = [](const auto& status) {
    return Schema{.version = status.version, .latest = status.latest, .pending = status.pending};
  };
  const std::string url = config.DatabaseUrl();
  if (config.StoreBackend() == "postgresql") {
    namespace pg = uh::server::pg;
    auto status = pg::ReadSchemaStatus(url, pg::EmbeddedMigrations());
    if (!status) return std::unexpected(std::move(status.error()));
    return convert(*status);
  }
  namespace sqlite = uh::server::sqlite;
  auto path = SqlitePathOf(url);
  if (!path) return std::unexpected(std::move(path.error()));
  auto status = sqlite::ReadSchemaStatus(*path, sqlite::EmbeddedMigrations());
  if (!status) return std::unexpected(std::move(status.error()));
  return convert(*status);
}

// The file names of those of `versions` this binary knows ("0012_rollout_revision.sql, ...").
std::string MigrationNames(const uh::server::ServerConfig& config,
                           const std::vector<std::int64_t>& versions) {
  auto names = [&](const auto& migrations) {
    std::string out;
    for (const auto& migration : migrations) {
      if (std::ranges::find(versions, migration.version) == versions.end()) continue;
      out += (out.empty() ? "" : ", ") + std::string(migration.name);
    }
    return out;
  };
  return config.StoreBackend() == "postgresql" ? names(uh::server::pg::EmbeddedMigrations())
                                               : names(uh::server::sqlite::EmbeddedMigrations());
}

// `migrate [--check]`: 0 when the schema is (now) current; 3 when --check finds migrations
// pending; 1 when the database cannot be read or was migrated by a newer release.
constexpr int kMigrationsPending = 3;
int RunMigrate(const uh::server::ServerConfig& config, bool check) {
  const std::string_view backend = config.StoreBackend();
  auto before = ReadSchema(config);
  if (!before) {
    std::cerr << "updatehub-server: migrate: cannot read the schema version of the " << backend
              << " database: " << before.error().message() << "\n";
    return 1;
  }
  if (before->version > before->latest) {
    std::cerr << "updatehub-server: migrate: the " << backend << " database's schema is at version "
              << before->version << ", newer than this server knows (" << before->latest
              << "): a newer release migrated it. Run that release, or restore the backup taken "
                 "before the upgrade.\n";
    return 1;
  }
  if (check) {
    if (before->pending.empty()) {
      std::cout << "schema at version " << before->version
                << ", the latest: no migrations pending\n";
      return 0;
    }
    std::cout << "schema at version " << before->version << ", latest " << before->latest << ": "
              << before->pending.size() << " migration" << (before->pending.size() == 1 ? "" : "s")
              << " pending (" << MigrationNames(config, before->pending)
              << "); `updatehub-server migrate` applies them\n";
    return kMigrationsPending;
  }
  // A SQLite database has one server: it must be stopped. PostgreSQL's migrations take turns
  // with starting servers under an advisory lock.
  std::optional<uh::File> lock;
  if (backend == "sqlite") {
    auto locked = uh::server::LockDataDir(config.data_dir);
    if (!locked) {
      std::cerr << "updatehub-server: migrate: " << locked.error().message() << "\n";
      return 1;
    }
    lock = std::move(*locked);
  }
  // Opening the store applies what is missing, as a starting server does.
  auto store = uh::server::OpenStore(config.DatabaseUrl(), {.pool_size = 1});
  if (!store) {
    std::cerr << "updatehub-server: migrate: " << store.error().message() << "\n";
    return 1;
  }
  store->reset();
  auto after = ReadSchema(config);
  if (!after) {
    std::cerr << "updatehub-server: migrate: reading the schema version again: "
              << after.error().message() << "\n";
    return 1;
  }
  std::vector<std::int64_t> applied;
  for (const std::int64_t version : before->pending) {
    if (std::ranges::find(after->pending, version) == after->pending.end()) {
      applied.push_back(version);
    }
  }
  if (applied.empty()) {
    std::cout << "schema at version " << after->version << ", applied 0\n";
  } else {
    std::cout << "schema at version " << after->version << ", applied " << applied.size() << " ("
              << before->version << " -> " << after->version
              << "): " << MigrationNames(config, applied) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"updatehub-server: the UpdateHub-compatible management server"};
  app.set_version_flag("--version", "updatehub-server " UH_VERSION);
  std::string config_file;
  std::string listen;
  std::string data_dir;
  std::string database;
  std::string dashboard_dir;
  std::string tls_certificate;
  std::string tls_private_key;
  std::string tls_ciphers;
  std::string tls_ciphersuites;
  std::string log_level;
  std::string log_format;
  bool access_log = false;
  bool no_access_log = false;
  unsigned threads = 0;
  std::optional<unsigned> waiting_poll_seconds;
  app.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_option("--listen", listen, "ADDRESS:PORT to serve on (default 127.0.0.1:8080)");
  app.add_option("--data-dir", data_dir, "Directory for the database and objects (default ./var)");
  app.add_option("--database", database,
                 "Store URL: sqlite:PATH, or postgresql://... (a libpq URI; objects stay in the "
                 "data directory) (default: sqlite:DATA_DIR/updatehub.db)");
  app.add_option("--dashboard-dir", dashboard_dir,
                 "The built web dashboard, served under /ui/ (default: 'dashboard' beside this "
                 "program)");
  app.add_option("--tls-cert", tls_certificate, "PEM certificate chain: serve HTTPS");
  app.add_option("--tls-key", tls_private_key, "PEM private key for --tls-cert");
  app.add_option("--tls-ciphers", tls_ciphers,
                 "TLS 1.2 suites, OpenSSL cipher-list syntax (default: ECDHE and DHE with "
                 "AES-GCM or ChaCha20-Poly1305); a list enabling any other suite is refused");
  app.add_option("--tls-ciphersuites", tls_ciphersuites,
                 "TLS 1.3 suites, OpenSSL ciphersuites syntax (default: OpenSSL's)");
  app.add_option("--threads", threads, "Worker threads (default: one per core)");
  app.add_option("--waiting-poll-seconds", waiting_poll_seconds,
                 "Tell devices waiting for their rollout stage to probe again after this many "
                 "seconds (Add-Extra-Poll; default 0: no)")
      ->check(CLI::Range(0, 86400));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (default info)");
  app.add_option("--log-format", log_format,
                 "text or json: one JSON object per line (default text)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--access-log", access_log, "Log a line per request at info level (the default)");
  app.add_flag("--no-access-log", no_access_log, "No line per request");
  auto* reset = app.add_subcommand(
      "reset-admin-password",
      "Set a new password for the user 'admin' (created if missing) and revoke its tokens, then "
      "exit. The server must be stopped. The password is UPDATEHUB_ADMIN_PASSWORD, or a random "
      "one printed once.");
  reset->fallthrough();
  auto* verify = app.add_subcommand(
      "verify-audit",
      "Check the audit log's hash chain and exit: 0 when whole, 1 naming the first row that was "
      "edited or deleted. Safe while the server runs.");
  verify->fallthrough();
  std::string backup_dest;
  auto* backup = app.add_subcommand(
      "backup",
      "Back up the data directory into DEST (new, or an empty directory) and exit; safe while "
      "the server runs. With SQLite: the database and the objects; with PostgreSQL: the objects "
      "only (back up the database with pg_dump). Restore: start a server with --data-dir DEST.");
  backup->add_option("DEST", backup_dest, "Directory to create for the backup")->required();
  backup->fallthrough();
  bool migrate_check = false;
  auto* migrate = app.add_subcommand(
      "migrate",
      "Apply the database's pending schema migrations (as a starting server does) and exit, "
      "saying the schema version before and after. With SQLite the server must be stopped. "
      "Exit status 1 when the database cannot be reached or a newer release migrated it.");
  migrate->add_flag("--check", migrate_check,
                    "Change nothing: say whether migrations are pending; exit status 0 when none "
                    "are, 3 when some are");
  migrate->fallthrough();
  app.footer(
      "The first start creates the user 'admin' with the password in UPDATEHUB_ADMIN_PASSWORD,\n"
      "or a random one printed once when the server is serving (reset-admin-password sets it\n"
      "again). Devices use /upgrades, /report and object downloads; people and scripts use\n"
      "/api/v1 (see /api/v1/openapi.yaml). Upgrades: back up, stop the server, run the new\n"
      "release's `migrate --check` then `migrate` (or just start it: it migrates at start).");
  CLI11_PARSE(app, argc, argv);

  uh::server::ServerConfig config;
  if (!config_file.empty()) {
    auto loaded = uh::server::LoadServerConfig(config_file);
    if (!loaded) {
      std::cerr << "updatehub-server: " << loaded.error().message() << "\n";
      return 1;
    }
    config = *loaded;
  }
  if (!listen.empty()) config.listen = listen;
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!database.empty()) config.database = database;
  config.build_version = UH_VERSION;
  if (!dashboard_dir.empty()) config.dashboard_dir = dashboard_dir;
  if (config.dashboard_dir.empty()) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      // Beside the binary in a build tree; PREFIX/share/updatehub-server/dashboard once
      // installed (cmake --install).
      config.dashboard_dir = self.parent_path() / "dashboard";
      const auto installed =
          self.parent_path().parent_path() / "share" / "updatehub-server" / "dashboard";
      if (!std::filesystem::exists(config.dashboard_dir / "index.html", ec) &&
          std::filesystem::exists(installed / "index.html", ec)) {
        config.dashboard_dir = installed;
      }
    }
  }
  if (!tls_certificate.empty()) config.tls_certificate = tls_certificate;
  if (!tls_private_key.empty()) config.tls_private_key = tls_private_key;
  if (!tls_ciphers.empty()) config.tls_ciphers = tls_ciphers;
  if (!tls_ciphersuites.empty()) config.tls_ciphersuites = tls_ciphersuites;
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  if (access_log) config.access_log = true;
  if (no_access_log) config.access_log = false;
  if (threads != 0) config.threads = threads;
  if (waiting_poll_seconds) config.waiting_poll_seconds = *waiting_poll_seconds;
  auto format = uh::server::ParseLogFormat(config.log_format);
  if (!format) {
    std::cerr << "updatehub-server: " << format.error().message() << "\n";
    return 1;
  }
  if (auto logging = uh::server::SetupServerLogging(config.log_level, *format); !logging) {
    std::cerr << "updatehub-server: " << logging.error().message() << "\n";
    return 1;
  }

  if (verify->parsed()) {
    auto store = uh::server::OpenStore(config.DatabaseUrl());
    if (!store) {
      std::cerr << "updatehub-server: opening the store: " << store.error().message() << "\n";
      return 1;
    }
    uh::server::AuditLog audit(**store);
    auto verdict = audit.Verify();
    if (!verdict) {
      std::cerr << "updatehub-server: " << verdict.error().message() << "\n";
      return 1;
    }
    if (verdict->first_bad_id) {
      std::cout << "audit log BROKEN at row " << *verdict->first_bad_id << ": " << verdict->reason
                << " (" << verdict->rows << " rows before it are whole)\n";
      return 1;
    }
    std::cout << "audit log whole: " << verdict->rows << " rows\n";
    return 0;
  }

  if (backup->parsed()) return RunBackup(config, backup_dest);
  if (migrate->parsed()) return RunMigrate(config, migrate_check);

  const char* password = std::getenv("UPDATEHUB_ADMIN_PASSWORD");
  if (reset->parsed()) {
    auto set = uh::server::ResetAdminPassword(config, password != nullptr ? password : "");
    if (!set) {
      std::cerr << "updatehub-server: " << set.error().message() << "\n";
      return 1;
    }
    if (password == nullptr) {
      std::cout << "New password of user 'admin': " << *set << "\n(shown only this once)\n";
    } else {
      std::cout << "The password of user 'admin' is now UPDATEHUB_ADMIN_PASSWORD.\n";
    }
    std::cout << "Every token of 'admin' was revoked.\n" << std::flush;
    return 0;
  }

  if ((!config.tls_ciphers.empty() || !config.tls_ciphersuites.empty()) &&
      config.tls_certificate.empty()) {
    std::cerr << "updatehub-server: TLS ciphers are set but no TLS certificate\n";
    return 1;
  }

  // Block the signals before threads start, then wait for them here: SIGHUP reloads the TLS
  // certificate (errors are logged and keep the current one), the others stop.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A file-size limit (ulimit -f) must fail the write (EFBIG: 507 for an upload), not kill us.
  std::signal(SIGXFSZ, SIG_IGN);

  auto server = uh::server::ServerApp::Start(config, password != nullptr ? password : "");
  if (!server) {
    spdlog::error("{}", server.error().message());
    return 1;
  }
  if (const auto& generated = (*server)->generated_admin_password()) {
    std::cout << "Created user 'admin' with password: " << *generated
              << "\n(shown only this once; set UPDATEHUB_ADMIN_PASSWORD to choose it)\n"
              << std::flush;
  }
  spdlog::info("updatehub-server listening on {} (port {}), data in {}", config.listen,
               (*server)->port(), config.data_dir.string());
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    if (config.tls_certificate.empty()) {
      spdlog::info("SIGHUP: no TLS certificate to reload");
      continue;
    }
    (void)(*server)->ReloadTls();  // logs the outcome
  }
  spdlog::info("signal {}: stopping", signal);
  (*server)->Stop();
  return 0;
}
