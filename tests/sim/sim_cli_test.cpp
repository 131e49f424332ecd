// updatehub-sim's command line: usage errors exit 2 before anything runs.

#include "tools/sim/sim_cli.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

namespace uh::tools {
namespace {

int RunCli(std::vector<std::string> args, std::string* err_text = nullptr) {
  args.insert(args.begin(), "updatehub-sim");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  const int status = RunSimCli(static_cast<int>(argv.size()), argv.data(), out, err);
  if (err_text != nullptr) *err_text = err.str() + out.str();
  return status;
}

const std::string kProduct(64, 'a');

TEST(SimCliTest, BadUsageExits2) {
  std::string err;
  EXPECT_EQ(RunCli({"--devices", "3"}, &err), kSimUsage) << "--server and --product are required";
  EXPECT_EQ(RunCli({"--server", "https://x", "--product", kProduct}, &err), kSimUsage);
  EXPECT_NE(err.find("https"), std::string::npos) << err;
  EXPECT_EQ(RunCli({"--server", "http://x", "--product", "abc"}, &err), kSimUsage);
  EXPECT_EQ(RunCli({"--server", "http://x", "--product", kProduct, "--failure-rate", "2"}, &err),
            kSimUsage);
  EXPECT_EQ(RunCli({"--server", "http://x", "--product", kProduct, "--devices", "many"}, &err),
            kSimUsage);
  EXPECT_EQ(
      RunCli({"--server", "http://x", "--product", kProduct, "--key", "/nonexistent.pub"}, &err),
      kSimUsage);
  EXPECT_EQ(RunCli({"--server", "http://x", "--product", kProduct, "--bogus"}, &err), kSimUsage);
  EXPECT_EQ(RunCli({"--help"}, &err), 0);
  EXPECT_NE(err.find("--until-version"), std::string::npos);
}

TEST(SimCliTest, AnUnreachableServerMissesTheGoal) {
  std::uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::tcp::v4(), 0));
    port = acceptor.local_endpoint().port();
  }  // closed again: every probe is refused, the timeout ends the run
  std::string text;
  EXPECT_EQ(RunCli({"--server", "http://127.0.0.1:" + std::to_string(port), "--product", kProduct,
                    "--devices", "5", "--poll-interval", "0.05", "--jitter", "0.01",
                    "--until-version", "2.0", "--timeout", "0.3", "--json"},
                   &text),
            kSimGoalMissed);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["end"], "timeout");
  EXPECT_EQ(json["unchanged"], 5);
  EXPECT_GT(json["probe_errors"].get<int>(), 5);
  EXPECT_FALSE(json["goal"]["met"].get<bool>());
  EXPECT_EQ(json["failovers"], 0) << "one server: nowhere to go";
}

// A port nobody listens on (closed again at once).
std::uint16_t ClosedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::tcp::v4(), 0));
  return acceptor.local_endpoint().port();
}

TEST(SimCliTest, SeveralServersShareTheDevicesAndRefusedOnesAreFailedOver) {
  const std::string first = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const std::string second = "http://127.0.0.1:" + std::to_string(ClosedPort());
  std::string text;
  EXPECT_EQ(RunCli({"--server", first, "--server", second, "--product", kProduct, "--devices", "4",
                    "--poll-interval", "0.05", "--jitter", "0.01", "--until-version", "2.0",
                    "--timeout", "0.3", "--json"},
                   &text),
            kSimGoalMissed);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["unchanged"], 4);
  // Every refused probe moved its device on to the other server.
  EXPECT_GT(json["failovers"].get<int>(), 4);
  EXPECT_EQ(json["failovers"], json["probe_errors"]);
  EXPECT_EQ(RunCli({"--server", first, "--server", "https://x", "--product", kProduct}, &text),
            kSimUsage);
}

}  // namespace
}  // namespace uh::tools
