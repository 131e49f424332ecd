#include "agent/api/client_cli.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "agent/api/local_api.hpp"
#include "fake_agent.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using api_test::FakeAgent;
using nlohmann::json;
using namespace std::chrono_literals;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

class ClientCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = LocalApiServer::Start("localhost:0", agent_, log_);
    ASSERT_TRUE(started) << started.error().message();
    server_ = std::move(*started);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  Result Run(std::vector<std::string> args, const ClientRunOptions& options = {}) {
    args.insert(args.begin(), {"--address", address_});
    return RunRaw(args, options);
  }

  static Result RunRaw(const std::vector<std::string>& args, const ClientRunOptions& options = {}) {
    std::ostringstream out;
    std::ostringstream err;
    Result result;
    result.status = RunClient(args, out, err, options);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  FakeAgent agent_;
  LogBuffer log_;
  std::unique_ptr<LocalApiServer> server_;
  std::string address_;
};

TEST_F(ClientCliTest, InfoPrintsTheAgentsAnswer) {
  agent_.info = {{"state", "park"}, {"version", "2.1.6"}, {"firmware", {{"hardware", "board"}}}};
  Result human = Run({"info"});
  EXPECT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find("\"state\": \"park\""), std::string::npos) << human.out;
  EXPECT_EQ(json::parse(human.out), agent_.info);

  Result machine = Run({"--json-output", "info"});
  EXPECT_EQ(machine.status, 0);
  EXPECT_EQ(machine.out, agent_.info.dump() + "\n");
}

TEST_F(ClientCliTest, LogPrintsEntriesAsLinesOrJson) {
  log_.Add(spdlog::level::info, "probing", {{"server", "https://api.updatehub.io"}});
  log_.Add(spdlog::level::err, "failed");
  Result human = Run({"log"});
  EXPECT_EQ(human.status, 0) << human.err;
  std::istringstream lines(human.out);
  std::string first;
  std::string second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_TRUE(first.ends_with(" INFO probing server=https://api.updatehub.io")) << first;
  EXPECT_TRUE(second.ends_with(" ERRO failed")) << second;
  EXPECT_EQ(first.substr(0, 2), "20");

  Result machine = Run({"log", "--json-output"});
  EXPECT_EQ(machine.status, 0);
  EXPECT_EQ(json::parse(machine.out), log_.ToJson());
}

TEST_F(ClientCliTest, LogWatchPrintsOnlyNewEntries) {
  log_.Add(spdlog::level::info, "one");
  log_.Add(spdlog::level::info, "two");
  int polls = 0;
  ClientRunOptions options;
  options.watch_interval = 10ms;
  options.stop_watching = [&] {
    ++polls;
    if (polls == 1) {
      log_.Add(spdlog::level::warn, "three");
    } else if (polls == 2) {
      log_.Clear();  // a new operation: numbering goes on
      log_.Add(spdlog::level::info, "four");
    }
    return polls == 3;
  };
  Result watched = Run({"log", "-w"}, options);
  EXPECT_EQ(watched.status, 0) << watched.err;
  EXPECT_EQ(polls, 3);
  std::vector<std::string> messages;
  std::istringstream lines(watched.out);
  for (std::string line; std::getline(lines, line);)
    messages.push_back(line.substr(line.find(' ')));
  EXPECT_EQ(messages,
            (std::vector<std::string>{" INFO one", " INFO two", " WARN three", " INFO four"}));

  polls = 0;
  log_.Clear();
  log_.Add(spdlog::level::info, "five");
  Result json_watch = Run({"--json-output", "log", "--watch"}, options);
  EXPECT_EQ(json_watch.status, 0);
  EXPECT_EQ(json::parse(json_watch.out.substr(0, json_watch.out.find('\n')))["message"], "five");
}

TEST_F(ClientCliTest, ProbeReportsEveryOutcome) {
  struct Case {
    ProbeOutcome outcome;
    int status;
    std::string out;
    std::string json_out;
  };
  const std::vector<Case> cases = {
      {ProbeOutcome::Updating(), 0, "Update available. The update is running in background.\n",
       "\"updating\"\n"},
      {ProbeOutcome::NoUpdate(), 0, "There are no updates available.\n", "\"no_update\"\n"},
      {ProbeOutcome::TryAgain(3600), 0, "Server replied asking us to try again in 3600 seconds\n",
       "{\"try_again\":3600}\n"},
      {ProbeOutcome::Busy("download"), 1, "", ""},
      {ProbeOutcome::Failed("dns error"), 1, "", ""},
  };
  for (const Case& c : cases) {
    agent_.probe = c.outcome;
    const Result human = Run({"probe"});
    EXPECT_EQ(human.status, c.status) << human.err;
    EXPECT_EQ(human.out, c.out);
    const Result machine = Run({"probe", "--json-output"});
    EXPECT_EQ(machine.status, c.status);
    EXPECT_EQ(machine.out, c.json_out);
  }
  agent_.probe = ProbeOutcome::Busy("download");
  const Result busy = Run({"probe"});
  EXPECT_NE(busy.err.find("busy (current state: download)"), std::string::npos) << busy.err;
  agent_.probe = ProbeOutcome::Failed("dns error");
  EXPECT_NE(Run({"probe"}).err.find("dns error"), std::string::npos);
}

TEST_F(ClientCliTest, ProbeSendsTheCustomServer) {
  const Result result = Run({"probe", "--server", "http://different-address:8080"});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(agent_.calls(), std::vector<std::string>{"probe http://different-address:8080"});
  const Result bad = Run({"probe", "--server", "not-a-url"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("400"), std::string::npos) << bad.err;
}

TEST_F(ClientCliTest, AbortDownloadReportsBothAnswers) {
  Result aborted = Run({"abort-download"});
  EXPECT_EQ(aborted.status, 0);
  EXPECT_EQ(aborted.out, "request accepted, download aborted\n");
  EXPECT_EQ(Run({"--json-output", "abort-download"}).out,
            "{\"message\":\"request accepted, download aborted\"}\n");

  agent_.abort_result = false;
  Result refused = Run({"abort-download"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("there is no download to be aborted"), std::string::npos);
}

TEST_F(ClientCliTest, InstallPackageSendsALocalFileAsAnAbsolutePath) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "update.uhupkg", "package");
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  const Result result = Run({"install-package", "update.uhupkg", "--no-wait"});
  std::filesystem::current_path(previous);

  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out,
            "Install request accepted from 'park' state\n"
            "Run 'updatehub client log --watch' to follow the log's progress\n");
  const auto expected = std::filesystem::canonical(dir / "update.uhupkg");
  EXPECT_EQ(agent_.calls(), std::vector<std::string>{"local_install " + expected.string()});

  agent_.install = InstallOutcome::Busy("install");
  const Result busy = Run({"install-package", (dir / "update.uhupkg").string(), "--no-wait"});
  EXPECT_EQ(busy.status, 1);
  EXPECT_NE(busy.err.find("busy (current state: install)"), std::string::npos) << busy.err;
}

TEST_F(ClientCliTest, InstallPackageSendsAUrlToRemoteInstall) {
  agent_.install = InstallOutcome::Accepted("poll");
  const Result result =
      Run({"--json-output", "install-package", "--no-wait", "https://example.com/update.uhupkg"});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out, "\"poll\"\n");
  EXPECT_EQ(agent_.calls(),
            std::vector<std::string>{"remote_install https://example.com/update.uhupkg"});
}

// What the daemon logs, in order, for an install request it handles (run_daemon: one entry per
// transition, "update failed: WHY" in the error state).
std::function<void()> LogsWhenInstalling(LogBuffer& log, std::vector<std::string> messages) {
  return [&log, messages = std::move(messages)] {
    for (const auto& message : messages) log.Add(spdlog::level::info, message);
  };
}

TEST_F(ClientCliTest, InstallPackageWaitsAndReportsARefusal) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "update.uhupkg", "package");
  log_.Add(spdlog::level::err, "update failed: an earlier update");  // before the request
  agent_.during_install =
      LogsWhenInstalling(log_, {"park --update--> validation", "validation --failed--> error",
                                "update failed: package 1234: unsigned, and this device requires "
                                "signatures",
                                "error --recovered--> poll"});
  ClientRunOptions options;
  options.install_poll_interval = 10ms;
  const Result refused = Run({"install-package", (dir / "update.uhupkg").string()}, options);
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.out,
            "Install request accepted from 'park' state\n"
            "Validating the package\n");
  EXPECT_EQ(refused.err,
            "error: the package was not installed: package 1234: unsigned, and this device "
            "requires signatures\n");

  const Result machine =
      Run({"--json-output", "install-package", (dir / "update.uhupkg").string()}, options);
  EXPECT_EQ(machine.status, 1);
  EXPECT_EQ(json::parse(machine.out),
            (json{{"accepted_from", "park"},
                  {"result", "failed"},
                  {"detail", "package 1234: unsigned, and this device requires signatures"}}));
}

TEST_F(ClientCliTest, InstallPackageWaitsUntilThePackageIsInstalled) {
  ClientRunOptions options;
  options.install_poll_interval = 10ms;
  // The daemon takes its time: the states come over several reads of the log.
  std::thread daemon([&] {
    for (const std::string state :
         {"park --update--> validation", "validation --valid--> download",
          "download --downloaded--> install", "install --installed--> reboot"}) {
      std::this_thread::sleep_for(30ms);
      log_.Add(spdlog::level::info, state);
    }
  });
  const Result installed = Run({"install-package", "https://example.com/u.uhupkg"}, options);
  daemon.join();
  EXPECT_EQ(installed.status, 0) << installed.err;
  EXPECT_EQ(installed.out,
            "Install request accepted from 'park' state\n"
            "Validating the package\n"
            "Package valid; getting its objects\n"
            "Installing\n"
            "Package installed; the device reboots into it\n");
}

TEST_F(ClientCliTest, InstallPackageNoWaitReturnsAtOnce) {
  ClientRunOptions options;
  options.install_wait = 200ms;
  options.install_poll_interval = 10ms;
  // Nothing in the log ever says how the install ends.
  const Result waited = Run({"install-package", "https://example.com/u.uhupkg"}, options);
  EXPECT_EQ(waited.status, 1);
  EXPECT_NE(waited.err.find("no verdict on the package"), std::string::npos) << waited.err;

  options.install_wait = 60s;
  const auto start = std::chrono::steady_clock::now();
  const Result at_once =
      Run({"install-package", "--no-wait", "https://example.com/u.uhupkg"}, options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(at_once.status, 0) << at_once.err;
  EXPECT_EQ(at_once.out,
            "Install request accepted from 'park' state\n"
            "Run 'updatehub client log --watch' to follow the log's progress\n");
}

TEST_F(ClientCliTest, InstallPackageOfNothingFailsBeforeAsking) {
  const Result result = Run({"install-package", "/no/such/update.uhupkg"});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("no such file"), std::string::npos) << result.err;
  EXPECT_TRUE(agent_.calls().empty());
}

TEST_F(ClientCliTest, GlobalOptionsMayFollowTheCommand) {
  const Result result = RunRaw({"info", "--json-output", "--daemon-address", address_});
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), agent_.info);
}

TEST_F(ClientCliTest, AnUnreachableAgentIsAClearError) {
  server_.reset();
  const Result result = Run({"info"});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("cannot reach the agent at " + address_), std::string::npos)
      << result.err;
  EXPECT_EQ(Run({"probe"}).status, 1);
  EXPECT_EQ(Run({"log", "--watch"}).status, 1);
}

TEST_F(ClientCliTest, BadUsageExitsWith2) {
  EXPECT_EQ(RunRaw({}).status, 2);
  EXPECT_EQ(RunRaw({"reboot"}).status, 2);
  EXPECT_EQ(RunRaw({"install-package"}).status, 2);
  EXPECT_EQ(RunRaw({"info", "extra"}).status, 2);
  EXPECT_EQ(RunRaw({"probe", "--server"}).status, 2);
  EXPECT_EQ(RunRaw({"info", "log"}).status, 2);
  const Result help = RunRaw({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("install-package"), std::string::npos);
  EXPECT_TRUE(agent_.calls().empty());
}

}  // namespace
}  // namespace uh::agent
