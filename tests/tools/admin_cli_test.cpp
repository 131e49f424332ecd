// updatehub-admin as a user runs it: the real binary as a child process against a real
// updatehub-server on port 0 with a data directory of its own (logins, products, keys,
// uploads, rollouts, device search, exit statuses), against a listener that answers garbage,
// and its bash completion. The plain functions behind it (rollout flags, the watch frame, tables)
// are tested directly first.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "e2e/child_process.hpp"
#include "e2e/e2e_support.hpp"
#include "server/http/http_test_client.hpp"
#include "support/test_support.hpp"
#include "tools/admin/rollout_spec.hpp"
#include "tools/admin/rollout_view.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "quartz lantern operator";

// --- the plain functions -----------------------------------------------------------------

TEST(AdminRolloutSpecTest, StagesDurationsAndThresholds) {
  EXPECT_EQ(*ParseDuration("90"), 90);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400);
  EXPECT_EQ(*ParseDuration("2d"), 172800);
  EXPECT_FALSE(ParseDuration("1h30"));
  EXPECT_FALSE(ParseDuration("soon"));
  EXPECT_EQ(*ParseStage("100"), json(100));
  EXPECT_EQ(*ParseStage("12.5%"), json(12.5));
  EXPECT_EQ(
      *ParseStage("10%:soak=1h,success=90,manual"),
      (json{{"percent", 10}, {"soak_seconds", 3600}, {"success_percent", 90}, {"manual", true}}));
  EXPECT_EQ(ParseStage("0").error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(ParseStage("150%").error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(ParseStage("10%:wait=1h").error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(*ParseThreshold("5%"), (json{{"percent", 5}}));
  EXPECT_EQ(*ParseThreshold("3"), (json{{"count", 3}}));
  EXPECT_FALSE(ParseThreshold("-3"));
  EXPECT_EQ(*ParseWindow("01:00-05:30"), (json{{"start", "01:00"}, {"end", "05:30"}}));
  EXPECT_FALSE(ParseWindow("25:00-05:00"));
}

TEST(AdminRolloutSpecTest, DefinitionFromFlags) {
  RolloutFlags flags;
  flags.package = std::string(64, 'a');
  flags.stages = {"10%:soak=15m", "100"};
  flags.threshold = "5%";
  flags.min_attempted = 4;
  flags.hardware = {"board-a"};
  flags.identity = {"serial=A=B"};
  const auto body = RolloutDefinition(flags);
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(*body,
            (json{{"package", flags.package},
                  {"stages", {{{"percent", 10}, {"soak_seconds", 900}}, 100}},
                  {"failure_threshold", {{"percent", 5}, {"min_attempted", 4}}},
                  {"filter", {{"hardware", {"board-a"}}, {"identity", {{"serial", "A=B"}}}}}}));
  flags.devices = {3};
  EXPECT_EQ(RolloutDefinition(flags).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(RolloutDefinition(RolloutFlags{}).error().code(), Errc::kInvalidArgument);
}

TEST(AdminViewTest, TablesAndTheWatchFrameShowOnlyPrintableText) {
  Table table({"ID", "NAME"});
  table.AddRow({"1", Cell(json("evil\x1b[2Jname"))});
  EXPECT_EQ(table.Render(), "ID  NAME\n1   evil?[2Jname\n");
  const json rollout = json::parse(R"({
    "id": 7, "name": "r", "state": "running", "current_stage": 0,
    "stages": [{"percent": 50}, {"percent": 100}],
    "hold_reason": "stage 1 of 2 soaks until 2026-12-01T00:00:00Z",
    "statistics": {"total": 4, "states": {"updated": {"count": 1}, "failed": {"count": 1}},
      "stages": [{"total": 2, "states": {"updated": {"count": 1}, "failed": {"count": 1}}},
                 {"total": 2, "states": {}}]}})");
  const std::string frame = RolloutFrame(rollout, 10);
  EXPECT_NE(frame.find("> stage 1 50%   [#####xxxxx] 1/2 updated, 1 failed"), std::string::npos)
      << frame;
  EXPECT_NE(frame.find("  stage 2 100%  [..........] 0/2 updated"), std::string::npos) << frame;
  EXPECT_NE(frame.find("hold: stage 1 of 2 soaks until"), std::string::npos) << frame;
  EXPECT_FALSE(RolloutEnded(rollout));
  // Junk where a rollout should be draws an empty frame rather than failing.
  EXPECT_NE(RolloutFrame(json::array({1, 2})).find("rollout -"), std::string::npos);
}

// --- the program ---------------------------------------------------------------------------

struct AdminResult {
  int status = -1;
  std::string out;
  std::string err;
};

// The environment of the tests' runs: this process's without the variables the tool reads.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (auto& entry : uh::testing::MergedEnvironment(extra)) {
    if (entry.starts_with("UPDATEHUB_") &&
        std::find(extra.begin(), extra.end(), entry) == extra.end()) {
      continue;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// A started updatehub-admin (or any program), its output going to files in `dir`.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const fs::path& dir, const std::string& input,
          const std::vector<std::string>& env)
      : out_(dir / "stdout"), err_(dir / "stderr") {
    uh::testing::WriteFile(dir / "stdin", input);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string in = (dir / "stdin").string();
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    auto environment = ChildEnvironment(env);
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Spawned() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string out() const { return uh::e2e::ReadIfExists(out_); }

  // Waits up to `limit`; kills it when it has not ended by then.
  AdminResult Wait(std::chrono::milliseconds limit) {
    AdminResult result;
    int wstatus = 0;
    const bool ended = uh::testing::WaitUntil(
        [&] { return ::waitpid(pid_, &wstatus, WNOHANG) == pid_; }, limit, 10ms);
    if (!ended) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &wstatus, 0);
      result.err = "(killed: it did not end in time)\n";
    }
    pid_ = -1;
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    result.out = uh::e2e::ReadIfExists(out_);
    result.err += uh::e2e::ReadIfExists(err_);
    return result;
  }

 private:
  fs::path out_;
  fs::path err_;
  pid_t pid_ = -1;
};

// The updatehub-server of this build, its admin's password kPassword.
class AdminServer {
 public:
  // `extra`: more of the server's flags (TLS).
  explicit AdminServer(const fs::path& dir, const std::vector<std::string>& extra = {}) {
    fs::create_directories(dir / "data");
    log_ = dir / "server.log";
    std::vector<std::string> argv = {
        UH_SERVER,        "--listen", "127.0.0.1:0", "--data-dir", (dir / "data").string(),
        "--no-access-log"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--tls-cert") != extra.end()) scheme_ = "https";
    process_ = std::make_unique<uh::e2e::ChildProcess>(
        argv, log_, std::vector<std::string>{std::string("UPDATEHUB_ADMIN_PASSWORD=") + kPassword});
    // "updatehub-server listening on 127.0.0.1:0 (port 41234), ..."
    (void)uh::e2e::WaitUntil(
        [&] {
          const std::string text = uh::e2e::ReadIfExists(log_);
          const auto at = text.find("(port ");
          if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + 6);
          return port_ > 0 || !process_->Running();
        },
        uh::e2e::Limit(30), 20ms);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string Url() const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_);
  }
  [[nodiscard]] std::string Log() const { return uh::e2e::Tail(log_, 20); }

 private:
  fs::path log_;
  std::string scheme_ = "http";
  int port_ = 0;
  std::unique_ptr<uh::e2e::ChildProcess> process_;
};

class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<AdminServer>(dir_ / "server");
    ASSERT_GT(server_->port(), 0) << server_->Log();
    fs::create_directories(dir_ / "runs");
  }

  // Runs updatehub-admin with `args`, `input` on stdin, the config under dir_/config.
  AdminResult Admin(const std::vector<std::string>& args, const std::string& input = "",
                    std::vector<std::string> env = {}) {
    const fs::path run = dir_ / "runs" / std::to_string(++runs_);
    fs::create_directories(run);
    std::vector<std::string> argv = {UH_ADMIN};
    argv.insert(argv.end(), args.begin(), args.end());
    env.push_back("XDG_CONFIG_HOME=" + config_home().string());
    Spawned child(argv, run, input, env);
    return child.Wait(uh::e2e::Limit(60));
  }

  AdminResult Login() {
    return Admin({"--server", server_->Url(), "login", "--password-stdin"},
                 std::string(kPassword) + "\n");
  }

  [[nodiscard]] fs::path config_home() const { return dir_ / "config"; }
  [[nodiscard]] fs::path config_file() const {
    return config_home() / "updatehub-admin" / "config.json";
  }

  // A device of the test packages' product probing the server, as an agent does.
  void Probe(const std::string& serial, const std::string& version = "0.9") {
    const json probe = {{"product-uid", Product()},
                        {"version", version},
                        {"hardware", "board-a"},
                        {"device-identity", {{"serial", serial}}},
                        {"device-attributes", {{"region", "eu"}}}};
    const auto reply = uh::server::http::testing::Fetch(
        server_->Url() + "/upgrades",
        {.method = "POST",
         .headers = {"Content-Type: application/json",
                     "Api-Content-Type: application/vnd.updatehub-v1+json"},
         .body = probe.dump()});
    EXPECT_TRUE(reply.status == 200 || reply.status == 404) << reply.status << " " << reply.body;
  }

  // The product of the test packages.
  static std::string Product() {
    return json::parse(
               uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json"))
        .at("product")
        .get<std::string>();
  }

  // Logs in, creates the test packages' product, registers their key, uploads signed.uhupkg.
  void Provision() {
    ASSERT_EQ(Login().status, 0);
    const auto product = Admin({"products", "create", "board", "--uid", Product()});
    ASSERT_EQ(product.status, 0) << product.err;
    const auto key = Admin({"keys", "add", "--product", Product(),
                            (uh::testing::TestPackagesDir() / "key.pub").string()});
    ASSERT_EQ(key.status, 0) << key.err;
    const auto upload =
        Admin({"packages", "upload", (uh::testing::TestPackagesDir() / "signed.uhupkg").string()});
    ASSERT_EQ(upload.status, 0) << upload.err;
  }

  uh::testing::TempDir dir_;
  std::unique_ptr<AdminServer> server_;
  int runs_ = 0;
};

TEST_F(AdminCliTest, LoginKeepsThePrivateConfigAndNeverPrintsTheToken) {
  const auto login = Login();
  ASSERT_EQ(login.status, 0) << login.err;
  EXPECT_NE(login.out.find("logged in to " + server_->Url() + " as admin"), std::string::npos)
      << login.out;
  struct stat file {};
  struct stat dir {};
  ASSERT_EQ(::stat(config_file().c_str(), &file), 0);
  ASSERT_EQ(::stat(config_file().parent_path().c_str(), &dir), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  EXPECT_EQ(dir.st_mode & 0777, 0700u);
  const json config = json::parse(uh::testing::ReadFile(config_file()));
  EXPECT_EQ(config.at("server"), server_->Url());
  const std::string token = config.at("token").get<std::string>();
  ASSERT_FALSE(token.empty());

  // Later commands find the server and token there, and print neither the token in tables nor
  // in JSON.
  const auto products = Admin({"products", "list"});
  EXPECT_EQ(products.status, 0) << products.err;
  EXPECT_TRUE(products.out.starts_with("UID")) << products.out;
  const auto json_products = Admin({"--json", "products", "list"});
  EXPECT_EQ(json_products.status, 0) << json_products.err;
  EXPECT_TRUE(json::parse(json_products.out).contains("products")) << json_products.out;
  for (const auto& run : {login, products, json_products}) {
    EXPECT_EQ(run.out.find(token), std::string::npos);
    EXPECT_EQ(run.err.find(token), std::string::npos);
  }

  // A config file others may write is not read: they would choose where the token goes.
  ASSERT_EQ(::chmod(config_file().c_str(), 0666), 0);
  const auto refused = Admin({"products", "list"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("may be written by others"), std::string::npos) << refused.err;
  ASSERT_EQ(::chmod(config_file().c_str(), 0600), 0);

  // Logout revokes the token on the server and forgets it here.
  const auto logout = Admin({"logout"});
  EXPECT_EQ(logout.status, 0) << logout.err;
  EXPECT_FALSE(json::parse(uh::testing::ReadFile(config_file())).contains("token"));
  const auto after = Admin({"products", "list"});
  EXPECT_EQ(after.status, 1);
  EXPECT_NE(after.err.find("not logged in"), std::string::npos) << after.err;
  const auto revoked = Admin({"--token", token, "products", "list"});
  EXPECT_EQ(revoked.status, 1);
  EXPECT_NE(revoked.err.find("HTTP 401"), std::string::npos) << revoked.err;
  EXPECT_NE(revoked.err.find("log in again"), std::string::npos) << revoked.err;
}

TEST_F(AdminCliTest, AWrongPasswordExits1AndStoresNothing) {
  const auto login =
      Admin({"--server", server_->Url(), "login", "--password-stdin"}, "not the password\n");
  EXPECT_EQ(login.status, 1);
  EXPECT_NE(login.err.find("login refused: HTTP 401"), std::string::npos) << login.err;
  EXPECT_FALSE(fs::exists(config_file()));
  // Without a terminal and without --password-stdin there is nowhere to ask: usage.
  const auto no_terminal = Admin({"--server", server_->Url(), "login"});
  EXPECT_EQ(no_terminal.status, 2);
  EXPECT_NE(no_terminal.err.find("--password-stdin"), std::string::npos) << no_terminal.err;
}

TEST_F(AdminCliTest, ProductsKeysAndUploadsWithTheServersReasons) {
  ASSERT_NO_FATAL_FAILURE(Provision());
  const auto keys = Admin({"keys", "list", "--product", Product()});
  EXPECT_EQ(keys.status, 0) << keys.err;
  EXPECT_NE(keys.out.find("key.pub"), std::string::npos) << keys.out;

  const auto again =
      Admin({"packages", "upload", (uh::testing::TestPackagesDir() / "signed.uhupkg").string()});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("already stored"), std::string::npos) << again.out;
  const auto list = Admin({"packages", "list", "--product", Product()});
  EXPECT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find(uh::testing::TestPackageUid("signed.uhupkg")), std::string::npos)
      << list.out;

  // Refused uploads: the server's reason, exit 1.
  const auto unsigned_upload =
      Admin({"packages", "upload", (uh::testing::TestPackagesDir() / "unsigned.uhupkg").string()});
  EXPECT_EQ(unsigned_upload.status, 1);
  EXPECT_NE(unsigned_upload.err.find("HTTP 422"), std::string::npos) << unsigned_upload.err;
  EXPECT_NE(unsigned_upload.err.find("not signed"), std::string::npos) << unsigned_upload.err;
  std::string tampered = uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.uhupkg");
  tampered[tampered.size() / 2] ^= 0x55;
  uh::testing::WriteFile(dir_ / "tampered.uhupkg", tampered);
  const auto bad = Admin({"packages", "upload", (dir_ / "tampered.uhupkg").string()});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("the server refused"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("HTTP 4"), std::string::npos) << bad.err;

  const auto show = Admin({"packages", "show", uh::testing::TestPackageUid("signed.uhupkg")});
  EXPECT_EQ(show.status, 0) << show.err;
  EXPECT_NE(show.out.find("version:   1.0.0"), std::string::npos) << show.out;

  const auto removed = Admin({"packages", "delete", uh::testing::TestPackageUid("signed.uhupkg")});
  EXPECT_EQ(removed.status, 0) << removed.err;
  const auto gone = Admin({"packages", "show", uh::testing::TestPackageUid("signed.uhupkg")});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("HTTP 404"), std::string::npos) << gone.err;
  const auto key_id = json::parse(Admin({"--json", "keys", "list", "-p", Product()}).out)
                          .at("keys")
                          .at(0)
                          .at("id")
                          .get<std::int64_t>();
  EXPECT_EQ(Admin({"keys", "delete", std::to_string(key_id)}).status, 0);
  EXPECT_EQ(Admin({"keys", "delete", std::to_string(key_id)}).status, 1);
}

TEST_F(AdminCliTest, RolloutsFromFlagsShowPauseResumeAndDeviceSearch) {
  ASSERT_NO_FATAL_FAILURE(Provision());
  for (const char* serial : {"S1", "S2", "S3"}) Probe(serial);
  const std::string package = uh::testing::TestPackageUid("signed.uhupkg");

  const auto preview = Admin(
      {"rollouts", "preview", "-p", Product(), "--package", package, "--hardware", "board-a"});
  EXPECT_EQ(preview.status, 0) << preview.err;
  EXPECT_NE(preview.out.find("matching devices:  3"), std::string::npos) << preview.out;

  const auto create = Admin({"--json", "rollouts", "create", "-p", Product(), "--package", package,
                             "--name", "first", "--stage", "34%:soak=1h,success=90", "--stage",
                             "100", "--threshold", "25%", "--min-attempted", "2"});
  ASSERT_EQ(create.status, 0) << create.err;
  const json rollout = json::parse(create.out);
  const std::string id = std::to_string(rollout.at("id").get<std::int64_t>());
  EXPECT_EQ(rollout.at("state"), "running");
  EXPECT_EQ(rollout.at("stages").size(), 2u);
  EXPECT_EQ(rollout["stages"][0]["soak_seconds"], 3600);

  const auto show = Admin({"rollouts", "show", id});
  EXPECT_EQ(show.status, 0) << show.err;
  EXPECT_NE(show.out.find("hold:"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("success share not reached"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("STAGE  PERCENT"), std::string::npos) << show.out;

  const auto pause = Admin({"rollouts", "pause", id});
  EXPECT_EQ(pause.status, 0) << pause.err;
  EXPECT_NE(pause.out.find("paused by admin"), std::string::npos) << pause.out;
  const auto pause_again = Admin({"rollouts", "pause", id});
  EXPECT_EQ(pause_again.status, 1) << pause_again.out;
  EXPECT_NE(pause_again.err.find("HTTP 409"), std::string::npos) << pause_again.err;
  const auto resume = Admin({"--json", "rollouts", "resume", id});
  EXPECT_EQ(resume.status, 0) << resume.err;
  EXPECT_EQ(json::parse(resume.out).at("state"), "running");
  const auto list = Admin({"rollouts", "list", "-p", Product()});
  EXPECT_NE(list.out.find("first  running"), std::string::npos) << list.out;

  // retry: the server's answer, whatever this server says about the route.
  const auto retry = Admin({"rollouts", "retry", id, "1"});
  EXPECT_TRUE(retry.status == 0 ||
              (retry.status == 1 && retry.err.find("HTTP ") != std::string::npos))
      << retry.status << " " << retry.err;

  // watch redraws until Ctrl-C, which ends it with 130.
  {
    const fs::path run = dir_ / "watch";
    fs::create_directories(run);
    Spawned watch({UH_ADMIN, "rollouts", "watch", id, "--interval", "0.2"}, run, "",
                  {"XDG_CONFIG_HOME=" + config_home().string()});
    ASSERT_GT(watch.pid(), 0);
    EXPECT_TRUE(uh::e2e::WaitUntil([&] { return watch.out().find("stage 2") != std::string::npos; },
                                   uh::e2e::Limit(20), 50ms));
    ::kill(watch.pid(), SIGINT);
    const auto ended = watch.Wait(uh::e2e::Limit(10));
    EXPECT_EQ(ended.status, 130) << ended.err;
    EXPECT_NE(ended.out.find("rollout " + id + " (first): running"), std::string::npos)
        << ended.out;
  }

  // Device search with the API's filters, and one device.
  const auto all = Admin({"devices", "--product", Product()});
  EXPECT_EQ(all.status, 0) << all.err;
  EXPECT_NE(all.out.find("3 of 3 devices"), std::string::npos) << all.out;
  const auto one = Admin({"devices", "--identity", "serial=S2", "--attribute", "region=eu",
                          "--rollout-state", "pending"});
  EXPECT_EQ(one.status, 0) << one.err;
  EXPECT_NE(one.out.find("serial=S2"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("1 of 1 devices"), std::string::npos) << one.out;
  const auto paged = Admin({"--json", "devices", "--limit", "1", "--all"});
  EXPECT_EQ(paged.status, 0) << paged.err;
  EXPECT_EQ(json::parse(paged.out).at("devices").size(), 3u) << paged.out;
  const auto device = Admin({"device", "show", "1"});
  EXPECT_EQ(device.status, 0) << device.err;
  EXPECT_NE(device.out.find("rollout " + id + " (first, running)"), std::string::npos)
      << device.out;

  // stop: watch then ends by itself, with 1 (the rollout did not finish).
  EXPECT_EQ(Admin({"rollouts", "stop", id}).status, 0);
  const auto watch_stopped = Admin({"rollouts", "watch", id});
  EXPECT_EQ(watch_stopped.status, 1);
  EXPECT_NE(watch_stopped.err.find("stopped"), std::string::npos) << watch_stopped.err;

  // The same from a JSON file; --file and definition flags together are a usage error.
  uh::testing::WriteFile(
      dir_ / "rollout.json",
      json{{"package", package}, {"name", "from file"}, {"stages", {50, 100}}}.dump());
  const auto both = Admin({"rollouts", "create", "-p", Product(), "--file",
                           (dir_ / "rollout.json").string(), "--stage", "100"});
  EXPECT_EQ(both.status, 2) << both.err;
  const auto from_file =
      Admin({"rollouts", "create", "-p", Product(), "--file", (dir_ / "rollout.json").string()});
  EXPECT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_NE(from_file.out.find("name:       from file"), std::string::npos) << from_file.out;
  const auto members =
      Admin({"rollouts", "devices", std::to_string(std::stoi(id) + 1), "--state", "pending"});
  EXPECT_EQ(members.status, 0) << members.err;
  EXPECT_NE(members.out.find("serial=S1"), std::string::npos) << members.out;

  const auto audit = Admin({"audit", "--limit", "5"});
  EXPECT_EQ(audit.status, 0) << audit.err;
  EXPECT_NE(audit.out.find("POST /api/v1/products/{product}/rollouts"), std::string::npos)
      << audit.out;
  const auto csv = Admin({"audit", "--csv", "--limit", "5"});
  EXPECT_EQ(csv.status, 0) << csv.err;
  EXPECT_NE(csv.out.find(','), std::string::npos) << csv.out;
}

TEST_F(AdminCliTest, ExitStatusesForUsageAndUnreachableServers) {
  EXPECT_EQ(Admin({"frobnicate"}).status, 2);
  EXPECT_EQ(Admin({}).status, 2);
  EXPECT_EQ(Admin({"products"}).status, 2);
  EXPECT_EQ(Admin({"keys", "list"}).status, 2);  // --product is required
  const auto bad_stage =
      Admin({"--server", server_->Url(), "--token", "x", "rollouts", "create", "-p", Product(),
             "--package", std::string(64, 'a'), "--stage", "10%:forever"});
  EXPECT_EQ(bad_stage.status, 2);
  EXPECT_NE(bad_stage.err.find("unknown option \"forever\""), std::string::npos) << bad_stage.err;
  const auto bad_url = Admin({"--server", "ftp://example.com", "--token", "x", "products", "list"});
  EXPECT_EQ(bad_url.status, 2);
  const auto no_server = Admin({"products", "list"});
  EXPECT_EQ(no_server.status, 2);
  EXPECT_NE(no_server.err.find("which server?"), std::string::npos) << no_server.err;

  // A port nobody listens on: exit 3, also for login.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  const std::string closed = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const auto unreachable = Admin({"--server", closed, "--token", "x", "products", "list"});
  EXPECT_EQ(unreachable.status, 3);
  EXPECT_NE(unreachable.err.find("cannot reach " + closed), std::string::npos) << unreachable.err;
  EXPECT_EQ(Admin({"--server", closed, "login", "--password-stdin"}, "pw\n").status, 3);
  // TLS to a plain HTTP server fails the handshake: exit 3 too.
  const std::string https = "https://127.0.0.1:" + std::to_string(server_->port());
  const auto tls = Admin({"--server", https, "--token", "x", "products", "list"});
  EXPECT_EQ(tls.status, 3) << tls.err;

  for (const std::vector<std::string>& help : {std::vector<std::string>{"--help"},
                                               {"rollouts", "--help"},
                                               {"rollouts", "create", "--help"},
                                               {"devices", "show", "--help"}}) {
    const auto run = Admin(help);
    EXPECT_EQ(run.status, 0) << help.back();
    EXPECT_NE(run.out.find("Usage:"), std::string::npos);
  }
  const auto version = Admin({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out, "updatehub-admin " UH_PROJECT_VERSION "\n");
}

TEST(AdminTlsTest, TheServerIsVerifiedUnlessInsecureIsExplicit) {
  uh::testing::TempDir dir;
  const auto made = uh::testing::Run(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
       (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
  ASSERT_EQ(made.status, 0) << made.err;
  AdminServer server(dir / "server", {"--tls-cert", (dir / "cert.pem").string(), "--tls-key",
                                      (dir / "key.pem").string()});
  ASSERT_GT(server.port(), 0) << server.Log();
  auto login = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {UH_ADMIN, "--server", server.Url()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"login", "--password-stdin"});
    const fs::path run = dir / ("run" + std::to_string(flags.size()));
    fs::create_directories(run);
    Spawned child(argv, run, std::string(kPassword) + "\n",
                  {"XDG_CONFIG_HOME=" + (dir / "config").string()});
    return child.Wait(uh::e2e::Limit(30));
  };
  const auto unverified = login({});
  EXPECT_EQ(unverified.status, 3);
  EXPECT_NE(unverified.err.find("TLS with " + server.Url() + " failed"), std::string::npos)
      << unverified.err;
  EXPECT_FALSE(fs::exists(dir / "config"));
  const auto with_ca = login({"--cacert", (dir / "cert.pem").string()});
  EXPECT_EQ(with_ca.status, 0) << with_ca.err;
  // The CA given at login is used again for that server.
  const fs::path run = dir / "after-login";
  fs::create_directories(run);
  Spawned products({UH_ADMIN, "products", "list"}, run, "",
                   {"XDG_CONFIG_HOME=" + (dir / "config").string()});
  const auto listed = products.Wait(uh::e2e::Limit(30));
  EXPECT_EQ(listed.status, 0) << listed.err;
  const auto insecure = login({"--insecure"});
  EXPECT_EQ(insecure.status, 0) << insecure.err;
}

// A listener on 127.0.0.1 that answers every connection with `reply` and closes it.
class JunkServer {
 public:
  explicit JunkServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 8) != 0) {
      return;
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~JunkServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  JunkServer(const JunkServer&) = delete;
  JunkServer& operator=(const JunkServer&) = delete;
  [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    while (!stop_) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char request[4096];
      (void)::recv(client, request, sizeof request, 0);
      std::size_t sent = 0;
      while (sent < reply_.size()) {
        const ssize_t n = ::send(client, reply_.data() + sent, reply_.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(client);
    }
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(AdminJunkServerTest, GarbageAndHugeRepliesAreClearErrors) {
  uh::testing::TempDir dir;
  auto run = [&dir](const std::string& url, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {UH_ADMIN, "--server", url, "--token", "x"};
    argv.insert(argv.end(), args.begin(), args.end());
    Spawned child(argv, dir.path(), "", {"XDG_CONFIG_HOME=" + (dir / "config").string()});
    return child.Wait(uh::e2e::Limit(30));
  };
  {
    JunkServer junk(uh::testing::RandomBytes(2000, 7));
    const auto result = run(junk.Url(), {"products", "list"});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find("did not answer in HTTP"), std::string::npos) << result.err;
  }
  {
    JunkServer junk("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"products\"");
    const auto result = run(junk.Url(), {"products", "list"});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find("not JSON"), std::string::npos) << result.err;
  }
  {
    JunkServer junk("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"products\": 42}\n");
    const auto result = run(junk.Url(), {"products", "list"});
    EXPECT_EQ(result.status, 0) << result.err;  // the wrong shape lists nothing, and says so
    EXPECT_EQ(result.out, "UID  NAME  DEVICE AUTH  NO DOWNGRADES  CREATED\n");
  }
  {
    // 80 MiB announced, more than the 64 MiB a reply may have: refused before it is read.
    JunkServer junk("HTTP/1.1 200 OK\r\nContent-Length: 83886080\r\n\r\n" +
                    std::string(1 << 20, '['));
    const auto result = run(junk.Url(), {"products", "list"});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find("larger than 64 MiB"), std::string::npos) << result.err;
  }
  {
    // Without a length, the body is cut at the limit as it comes.
    JunkServer junk("HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\n" + std::string(65 << 20, '['));
    const auto result = run(junk.Url(), {"products", "list"});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find("larger than 64 MiB"), std::string::npos) << result.err;
  }
  {
    // An escape sequence in the message (JSON's \u001b) reaches the terminal as '?'.
    const std::string body = R"({"error": "\u001b[31mred"})";
    JunkServer junk("HTTP/1.1 409 Conflict\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body);
    const auto result = run(junk.Url(), {"products", "create", "x"});
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_NE(result.err.find("HTTP 409: ?[31mred"), std::string::npos) << result.err;
  }
}

TEST(AdminCompletionTest, TheBashCompletionParsesAndRegistersItself) {
  const std::string script = std::string(UH_DIST_DIR) + "/completion/updatehub-admin.bash";
  const auto syntax = uh::testing::Run({"bash", "-n", script});
  EXPECT_EQ(syntax.status, 0) << syntax.err;
  const auto registered =
      uh::testing::Run({"bash", "-c", "source '" + script + "' && complete -p updatehub-admin"});
  EXPECT_EQ(registered.status, 0) << registered.err;
  EXPECT_NE(registered.out.find("updatehub-admin"), std::string::npos) << registered.out;
  // Completing "updatehub-admin rollouts pa" offers "pause".
  const auto words =
      uh::testing::Run({"bash", "-c",
                        "source '" + script +
                            "'; COMP_WORDS=(updatehub-admin rollouts pa); COMP_CWORD=2; "
                            "_updatehub_admin; printf '%s\\n' \"${COMPREPLY[@]}\""});
  EXPECT_EQ(words.status, 0) << words.err;
  EXPECT_EQ(words.out, "pause\n");
}

}  // namespace
}  // namespace uh::admin
