// The programs' command lines, run as built: --version of each, updatehub-worker --help,
// `updatehub daemon -c FILE` with a missing FILE, and `updatehub client install-package` against
// a real `updatehub daemon` on the simulated device of the power-cut tests.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "agent_process.hpp"
#include "sim_device.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kAgent = UH_AGENT;
const std::string kProduct(64, 'c');
const std::string kOtherProduct(64, 'd');

TEST(ProgramCliTest, EveryProgramPrintsItsNameAndTheProjectVersion) {
  const std::vector<std::pair<std::string, std::string>> programs = {
      {"updatehub", kAgent},           {"updatehub-worker", UH_WORKER},
      {"updatehub-server", UH_SERVER}, {"updatehub-pkg", uh::testing::PkgTool().string()},
      {"updatehub-sim", UH_SIM},
  };
  for (const auto& [name, binary] : programs) {
    const auto result = uh::testing::Run({binary, "--version"});
    EXPECT_EQ(result.status, 0) << name << ": " << result.err;
    EXPECT_EQ(result.out, name + " " UH_PROJECT_VERSION "\n") << name;
  }
  const auto device =
      uh::testing::Run({"env", "UPDATEHUB_AGENT=" + kAgent,
                        std::string(UH_DIST_DIR) + "/sim/updatehub-device", "--version"});
  EXPECT_EQ(device.status, 0) << device.err;
  EXPECT_EQ(device.out, "updatehub-device " UH_PROJECT_VERSION "\n");
}

TEST(ProgramCliTest, TheWorkerSaysWhatItIs) {
  const auto help = uh::testing::Run({UH_WORKER, "--help"});
  EXPECT_EQ(help.status, 0) << help.err;
  EXPECT_TRUE(help.out.starts_with("Usage: updatehub-worker")) << help.out;
  EXPECT_NE(help.out.find("internal program"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("not meant to be run by hand"), std::string::npos) << help.out;
  const auto bad = uh::testing::Run({UH_WORKER, "--frobnicate"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(bad.err.starts_with("Usage: updatehub-worker")) << bad.err;
}

TEST(ProgramCliTest, ADaemonWithAMissingNamedConfigDoesNotStart) {
  uh::testing::TempDir dir;
  // `timeout`: an agent that ran on defaults instead would run until killed.
  const auto missing =
      uh::testing::Run({"timeout", "20", kAgent, "daemon", "-c", (dir / "missing.conf").string()});
  EXPECT_EQ(missing.status, 1) << missing.out << missing.err;
  EXPECT_EQ(missing.err,
            "updatehub: config " + (dir / "missing.conf").string() + ": no such file\n");
  const auto directory =
      uh::testing::Run({"timeout", "20", kAgent, "daemon", "--config", dir.path().string()});
  EXPECT_EQ(directory.status, 1) << directory.out << directory.err;
  EXPECT_NE(directory.err.find("is a directory"), std::string::npos) << directory.err;
}

// A real agent on a simulated device with polling disabled (so that it is idle for the local
// API), requiring signed packages for product kProduct.
class InstallPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string config = uh::testing::ReadFile(device_.config_file());
    const std::regex enabled("enabled = true");
    config = std::regex_replace(config, enabled, "enabled = false");
    uh::testing::WriteFile(device_.config_file(), config);
    std::smatch listen;
    ASSERT_TRUE(std::regex_search(config, listen, std::regex("listen_socket = \"([^\"]+)\"")));
    address_ = listen[1];
    agent_ = std::make_unique<powercut::AgentProcess>(kAgent, device_.config_file(),
                                                      device_.log_file(), device_.AgentEnv());
    ASSERT_TRUE(agent_->Start()) << agent_->error();
    ASSERT_TRUE(agent_->WaitForLog("local API on port", 20s)) << agent_->RunLog();
    ASSERT_TRUE(Idle()) << agent_->RunLog();
  }

  void TearDown() override {
    if (agent_) (void)agent_->Stop(10s);
  }

  // A package of one raw image for the device's slots.
  fs::path Package(const std::string& name, const std::string& product, bool sign) {
    const fs::path image = dir_ / (name + ".img");
    uh::testing::WriteFile(image, powercut::SlotImage(64 * 1024, "2.0", 7));
    const fs::path file = dir_ / (name + ".uhupkg");
    std::vector<std::string> args = {
        uh::testing::PkgTool().string(),
        "create",
        "--product",
        product,
        "--version",
        "2.0",
        "--hardware",
        "board-a",
        "--object",
        image.string() + ",mode=raw,target=/dev/slot0,b.target=/dev/slot1",
        "-o",
        file.string()};
    if (sign) {
      args.insert(args.end(), {"--key", (uh::testing::TestPackagesDir() / "key.pem").string()});
    } else {
      args.push_back("--unsigned");
    }
    const auto created = uh::testing::Run(args);
    EXPECT_EQ(created.status, 0) << created.err;
    return file;
  }

  uh::testing::RunResult Client(std::vector<std::string> args) {
    args.insert(args.begin(), {kAgent, "client", "--address", address_});
    return uh::testing::Run(args);
  }

  // Waits until the agent is idle, accepting requests again.
  bool Idle() {
    return powercut::WaitUntil(
        [&] {
          const auto info = Client({"--json-output", "info"});
          return info.status == 0 && (info.out.find("\"state\":\"park\"") != std::string::npos ||
                                      info.out.find("\"state\":\"poll\"") != std::string::npos);
        },
        20s, 50ms);
  }

  static int Count(const std::string& text, const std::string& what) {
    int count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
    return count;
  }

  uh::testing::TempDir dir_;
  powercut::SimDevice device_{"http://127.0.0.1:9", kProduct, "serial-cli"};
  std::string address_;
  std::unique_ptr<powercut::AgentProcess> agent_;
};

TEST_F(InstallPackageTest, WaitsForTheVerdictAndExitsNonZeroOnARefusal) {
  const auto other = Client({"install-package", Package("other", kOtherProduct, true).string()});
  EXPECT_EQ(other.status, 1) << other.out << other.err;
  EXPECT_NE(other.err.find("made for product " + kOtherProduct + ", this device is " + kProduct),
            std::string::npos)
      << other.err;
  ASSERT_TRUE(Idle());

  const auto unsigned_package = Package("unsigned", kProduct, false);
  const auto refused = Client({"install-package", unsigned_package.string()});
  EXPECT_EQ(refused.status, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("accepted from 'park' state"), std::string::npos) << refused.out;
  EXPECT_NE(refused.err.find("unsigned, and this device requires signatures"), std::string::npos)
      << refused.err;
  ASSERT_TRUE(Idle());

  // --no-wait: the old answer, at once, even for a package that is going to be refused.
  const auto at_once = Client({"install-package", "--no-wait", unsigned_package.string()});
  EXPECT_EQ(at_once.status, 0) << at_once.err;
  EXPECT_NE(at_once.out.find("log --watch"), std::string::npos) << at_once.out;
  EXPECT_TRUE(
      powercut::WaitUntil([&] { return Count(agent_->RunLog(), "update failed: ") == 3; }, 20s))
      << agent_->RunLog();
  ASSERT_TRUE(Idle());

  const auto good = Client({"install-package", Package("good", kProduct, true).string()});
  EXPECT_EQ(good.status, 0) << good.out << good.err << agent_->RunLog();
  EXPECT_NE(good.out.find("Package installed; the device reboots into it"), std::string::npos)
      << good.out;
  // The verdict comes as the agent enters its reboot state, before its reboot command.
  EXPECT_TRUE(powercut::WaitUntil([&] { return device_.Hits("rebooted") == 1; }, 20s));
}

}  // namespace
}  // namespace uh::agent
