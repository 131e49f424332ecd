#include "agent/device/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/device/duration.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Parses `text` as the file "/etc/updatehub.conf" and returns the error message.
std::string ErrorOf(std::string_view text) {
  auto loaded = ParseConfig(text, "/etc/updatehub.conf");
  if (loaded) return "(no error)";
  EXPECT_EQ(loaded.error().code(), Errc::kInvalidArgument);
  return loaded.error().message();
}

TEST(AgentConfigTest, MissingFileMeansUpstreamDefaults) {
  uh::testing::TempDir dir;
  auto loaded = LoadConfig(dir / "updatehub.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->source, ConfigSource::kDefaults);
  const AgentConfig& config = loaded->config;
  EXPECT_EQ(config.network.server_address, "https://api.updatehub.io");
  EXPECT_EQ(config.network.listen_socket, "localhost:8080");
  EXPECT_TRUE(config.network.ca_file.empty());
  EXPECT_TRUE(config.network.product_token.empty());
  EXPECT_FALSE(config.storage.read_only);
  EXPECT_EQ(config.storage.runtime_settings, "/var/lib/updatehub/runtime_settings.conf");
  EXPECT_EQ(config.storage.state_file, "/var/lib/updatehub/state.json");
  EXPECT_TRUE(config.polling.enabled);
  EXPECT_EQ(config.polling.interval, 24h);
  EXPECT_EQ(config.polling.jitter_percent, 10u);
  EXPECT_EQ(config.update.download_dir, "/tmp/updatehub");
  EXPECT_THAT(config.update.supported_install_modes,
              ElementsAre("dry-run", "copy", "flash", "imxkobs", "raw", "tarball", "ubifs"));
  EXPECT_EQ(config.update.target_root, "/");
  EXPECT_THAT(config.update.reboot_command, ElementsAre("reboot"));
  EXPECT_TRUE(config.update.slot_commands_dir.empty());
  EXPECT_FALSE(config.update.refuse_downgrades);
  EXPECT_EQ(config.firmware.metadata, "/usr/share/updatehub");
}

TEST(AgentConfigTest, ReadsUpstreamTomlFile) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "updatehub.conf", R"(
[network]
server_address="https://api.updatehub.io"
listen_socket="localhost:8080"

[storage]
read_only = false
runtime_settings="/data/updatehub/state.data"

[polling]
enabled=true
interval="60s"

[update]
download_dir="/tmp/updatehub"
supported_install_modes=["copy", "tarball"]

[firmware]
metadata="/usr/share/updatehub"
)");
  auto loaded = LoadConfig(dir / "updatehub.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->source, ConfigSource::kToml);
  EXPECT_TRUE(loaded->warnings.empty());
  EXPECT_EQ(loaded->config.polling.interval, 60s);
  EXPECT_EQ(loaded->config.storage.runtime_settings, "/data/updatehub/state.data");
  EXPECT_THAT(loaded->config.update.supported_install_modes, ElementsAre("copy", "tarball"));
  // The state file follows the runtime settings unless it is set.
  EXPECT_EQ(loaded->config.storage.state_file, "/data/updatehub/state.json");
}

TEST(AgentConfigTest, ANamedConfigFileMustBeThereAndReadable) {
  uh::testing::TempDir dir;
  const auto missing = CheckNamedConfigFile(dir / "updatehub.conf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_EQ(missing.error().message(),
            "config " + (dir / "updatehub.conf").string() + ": no such file");

  const auto directory = CheckNamedConfigFile(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.error().message(), HasSubstr("is a directory"));

  uh::testing::WriteFile(dir / "updatehub.conf", "[polling]\nenabled = false\n");
  EXPECT_TRUE(CheckNamedConfigFile(dir / "updatehub.conf"));
}

TEST(AgentConfigTest, MissingSectionsAndKeysKeepDefaults) {
  auto loaded = ParseConfig("[polling]\nenabled = false\n", "test.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_FALSE(loaded->config.polling.enabled);
  EXPECT_EQ(loaded->config.polling.interval, 24h);
  EXPECT_EQ(loaded->config.network.server_address, "https://api.updatehub.io");
}

TEST(AgentConfigTest, ReadsOurExtensions) {
  auto loaded = ParseConfig(R"(
[network]
server_address = "http://10.0.0.1:8080"
ca_file = "/etc/ssl/fleet-ca.pem"
product_token = "tok-123"
[storage]
state_file = "/data/agent-state.json"
[polling]
interval = "1h30m"
jitter_percent = 25
[update]
target_root = "/srv/sim/device-7"
reboot_command = ["/sbin/shutdown", "-r", "now"]
slot_commands_dir = "/opt/ab"
stream_objects = true
)",
                            "test.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  const AgentConfig& config = loaded->config;
  EXPECT_EQ(config.network.server_address, "http://10.0.0.1:8080");
  EXPECT_EQ(config.network.ca_file, "/etc/ssl/fleet-ca.pem");
  EXPECT_EQ(config.network.product_token, "tok-123");
  EXPECT_EQ(config.storage.state_file, "/data/agent-state.json");
  EXPECT_EQ(config.polling.interval, 90min);
  EXPECT_EQ(config.polling.jitter_percent, 25u);
  EXPECT_EQ(config.update.target_root, "/srv/sim/device-7");
  EXPECT_THAT(config.update.reboot_command, ElementsAre("/sbin/shutdown", "-r", "now"));
  EXPECT_EQ(config.update.slot_commands_dir, "/opt/ab");
  EXPECT_TRUE(config.update.stream_objects);
  EXPECT_FALSE(AgentConfig().update.stream_objects);  // off unless asked for
}

// update.refuse_downgrades: off unless asked for (upstream installs whatever it is offered); a
// boolean in TOML and, as Update.RefuseDowngrades, in a legacy INI file.
TEST(AgentConfigTest, RefuseDowngradesIsReadFromTomlAndLegacyIni) {
  auto absent = ParseConfig("[update]\nstream_objects = true\n", "test.conf");
  ASSERT_TRUE(absent) << absent.error().message();
  EXPECT_FALSE(absent->config.update.refuse_downgrades);

  auto toml = ParseConfig("[update]\nrefuse_downgrades = true\n", "test.conf");
  ASSERT_TRUE(toml) << toml.error().message();
  EXPECT_EQ(toml->source, ConfigSource::kToml);
  EXPECT_TRUE(toml->config.update.refuse_downgrades);
  auto toml_off = ParseConfig("[update]\nrefuse_downgrades = false\n", "test.conf");
  ASSERT_TRUE(toml_off) << toml_off.error().message();
  EXPECT_FALSE(toml_off->config.update.refuse_downgrades);

  auto ini =
      ParseConfig("[Update]\nDownloadDir=/tmp/download\nRefuseDowngrades=true\n", "test.conf");
  ASSERT_TRUE(ini) << ini.error().message();
  EXPECT_EQ(ini->source, ConfigSource::kLegacyIni);
  EXPECT_TRUE(ini->warnings.empty());
  EXPECT_TRUE(ini->config.update.refuse_downgrades);
  auto ini_off = ParseConfig("[Update]\nRefuseDowngrades=False\n", "test.conf");
  ASSERT_TRUE(ini_off) << ini_off.error().message();
  EXPECT_FALSE(ini_off->config.update.refuse_downgrades);

  EXPECT_THAT(ErrorOf("[update]\ndownload_dir = \"/tmp/x\"\nrefuse_downgrades = \"yes\"\n"),
              HasSubstr("/etc/updatehub.conf:3: update.refuse_downgrades: must be a boolean (true "
                        "or false), not a string"));
  EXPECT_THAT(ErrorOf("[update]\nrefuse_downgrades = 1\n"),
              HasSubstr("/etc/updatehub.conf:2: update.refuse_downgrades: must be a boolean"));
  EXPECT_THAT(
      ErrorOf("[Update]\nDownloadDir=/tmp/download\nRefuseDowngrades=maybe\n"),
      HasSubstr("/etc/updatehub.conf:3: Update.RefuseDowngrades: 'maybe' is not a boolean"));
}

TEST(AgentConfigTest, BadDurationNamesFileLineAndKey) {
  EXPECT_THAT(ErrorOf("[network]\nlisten_socket = \"localhost:8080\"\n\n[polling]\n"
                      "enabled = true\ninterval = \"5x\"\n"),
              HasSubstr("/etc/updatehub.conf:6: polling.interval: '5x' is not a duration"));
}

TEST(AgentConfigTest, IntervalUnderOneMinuteIsRejected) {
  EXPECT_THAT(ErrorOf("[polling]\ninterval = \"59s\"\n"),
              HasSubstr("/etc/updatehub.conf:2: polling.interval: '59s' is shorter than the "
                        "minimum of 60s"));
  auto minimum = ParseConfig("[polling]\ninterval = \"1m\"\n", "test.conf");
  ASSERT_TRUE(minimum) << minimum.error().message();
  EXPECT_EQ(minimum->config.polling.interval, 60s);
}

TEST(AgentConfigTest, WrongTypesAreErrors) {
  EXPECT_THAT(ErrorOf("[polling]\nenabled = \"yes\"\n"),
              HasSubstr("/etc/updatehub.conf:2: polling.enabled: must be a boolean (true or "
                        "false), not a string"));
  EXPECT_THAT(ErrorOf("[polling]\ninterval = 3600\n"),
              HasSubstr("polling.interval: must be a string, not an integer"));
  EXPECT_THAT(ErrorOf("[update]\nsupported_install_modes = \"raw\"\n"),
              HasSubstr("update.supported_install_modes: must be an array of strings"));
  EXPECT_THAT(ErrorOf("[update]\nsupported_install_modes = [\"raw\", 7]\n"),
              HasSubstr("update.supported_install_modes: element 2 must be a string"));
  EXPECT_THAT(ErrorOf("network = 5\n"), HasSubstr(":1: network: must be a table"));
}

TEST(AgentConfigTest, BadTomlSyntaxReportsTheLine) {
  const std::string message = ErrorOf("[polling]\nenabled = true\ninterval = \"1d\n");
  EXPECT_THAT(message, HasSubstr("/etc/updatehub.conf:3: "));
}

TEST(AgentConfigTest, UnknownSectionsAndKeysAreErrorsAsUpstream) {
  EXPECT_THAT(ErrorOf("[polling]\nenabled = true\nintreval = \"1d\"\n"),
              HasSubstr(":3: polling.intreval: not a known key (enabled, interval, "
                        "jitter_percent are)"));
  EXPECT_THAT(ErrorOf("[pollling]\nenabled = true\n"),
              HasSubstr(":1: 'pollling' is not a known section"));
}

TEST(AgentConfigTest, ListenSocketPortZeroMeansAnyFreePort) {
  auto loaded = ParseConfig("[network]\nlisten_socket = \"127.0.0.1:0\"\n", "/etc/updatehub.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->config.network.listen_socket, "127.0.0.1:0");
  EXPECT_THAT(ErrorOf("[network]\nlisten_socket = \"127.0.0.1:65536\"\n"),
              HasSubstr("must be HOST:PORT"));
  EXPECT_THAT(ErrorOf("[network]\nlisten_socket = \"127.0.0.1:-1\"\n"),
              HasSubstr("must be HOST:PORT"));
}

TEST(AgentConfigTest, BadValuesAreErrors) {
  EXPECT_THAT(ErrorOf("[network]\nserver_address = \"api.updatehub.io\"\n"),
              HasSubstr("network.server_address: 'api.updatehub.io' must start with http://"));
  EXPECT_THAT(ErrorOf("[network]\nlisten_socket = \"localhost\"\n"),
              HasSubstr("network.listen_socket: 'localhost' must be HOST:PORT"));
  EXPECT_THAT(ErrorOf("[network]\nproduct_token = \"a\\r\\nX-Evil: 1\"\n"),
              HasSubstr("network.product_token: must not contain control characters"));
  EXPECT_THAT(ErrorOf("[polling]\njitter_percent = 80\n"),
              HasSubstr("polling.jitter_percent: 80 is not a percentage from 0 to 50"));
  EXPECT_THAT(ErrorOf("[update]\nreboot_command = []\n"),
              HasSubstr("update.reboot_command: must name a program"));
  EXPECT_THAT(ErrorOf("[update]\ntarget_root = \"sim\"\n"),
              HasSubstr("update.target_root: 'sim' must be an absolute path"));
  EXPECT_THAT(ErrorOf("[storage]\nruntime_settings = \"\"\n"),
              HasSubstr("storage.runtime_settings: must not be empty"));
}

// The download deadline (docs/protocol.md, 3.1): a minimum rate in bytes per second (0: no
// deadline) and an allowance written as the other durations.
TEST(AgentConfigTest, ReadsTheDownloadDeadline) {
  const AgentConfig defaults;
  EXPECT_EQ(defaults.network.download_min_rate, 8u * 1024);
  EXPECT_EQ(defaults.network.download_time_allowance, 5min);
  auto loaded = ParseConfig(
      "[network]\ndownload_min_rate = 2048\ndownload_time_allowance = \"1h30m\"\n", "test.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->config.network.download_min_rate, 2048u);
  EXPECT_EQ(loaded->config.network.download_time_allowance, 90min);
  auto off = ParseConfig("[network]\ndownload_min_rate = 0\ndownload_time_allowance = \"1s\"\n",
                         "test.conf");
  ASSERT_TRUE(off) << off.error().message();
  EXPECT_EQ(off->config.network.download_min_rate, 0u);
  EXPECT_EQ(off->config.network.download_time_allowance, 1s);

  EXPECT_THAT(ErrorOf("[network]\ndownload_min_rate = -1\n"),
              HasSubstr("/etc/updatehub.conf:2: network.download_min_rate: -1 is not a rate in "
                        "bytes per second"));
  EXPECT_THAT(ErrorOf("[network]\ndownload_min_rate = 99999999999\n"),
              HasSubstr("network.download_min_rate: 99999999999 is not a rate"));
  EXPECT_THAT(ErrorOf("[network]\ndownload_min_rate = \"16KiB\"\n"),
              HasSubstr("network.download_min_rate: "));
  EXPECT_THAT(ErrorOf("[network]\ndownload_time_allowance = \"5 minutes\"\n"),
              HasSubstr("network.download_time_allowance: '5 minutes' is not a duration"));
  EXPECT_THAT(ErrorOf("[network]\ndownload_time_allowance = 300\n"),
              HasSubstr("network.download_time_allowance: "));
}

// The device's credentials: the token file and the client certificate with its key, both or
// neither. What the files hold is checked at start (device_credentials_test.cpp).
TEST(AgentConfigTest, ReadsTheDeviceCredentials) {
  const AgentConfig defaults;
  EXPECT_TRUE(defaults.network.device_token_file.empty());
  EXPECT_TRUE(defaults.network.client_certificate.empty());
  EXPECT_TRUE(defaults.network.client_key.empty());
  auto loaded = ParseConfig(R"(
[network]
device_token_file = "/var/lib/updatehub/device-token"
client_certificate = "/etc/updatehub/device.crt"
client_key = "/etc/updatehub/device.key"
)",
                            "test.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->config.network.device_token_file, "/var/lib/updatehub/device-token");
  EXPECT_EQ(loaded->config.network.client_certificate, "/etc/updatehub/device.crt");
  EXPECT_EQ(loaded->config.network.client_key, "/etc/updatehub/device.key");

  EXPECT_THAT(ErrorOf("[network]\nclient_certificate = \"/etc/updatehub/device.crt\"\n"),
              HasSubstr("/etc/updatehub.conf: network.client_certificate and network.client_key "
                        "go together: set both or neither"));
  EXPECT_THAT(ErrorOf("[network]\nclient_key = \"/etc/updatehub/device.key\"\n"),
              HasSubstr("set both or neither"));
  EXPECT_THAT(ErrorOf("[network]\ndevice_token_file = true\n"),
              HasSubstr("network.device_token_file: "));
}

TEST(AgentConfigTest, ReadsLegacyV1Ini) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "updatehub.conf", R"(
; written for the v1 agent
[Polling]
Interval=1h30m
Enabled=False

[Storage]
ReadOnly=true
RuntimeSettingsPath=/run/updatehub/state

[Update]
DownloadDir=/tmp/download
SupportedInstallModes=mode1, mode2,
AutoRebootAfterInstall=true

[Network]
ServerAddress=http://localhost
ListenSocket=localhost:8313

[Firmware]
MetadataPath=/tmp/metadata
)");
  auto loaded = LoadConfig(dir / "updatehub.conf");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->source, ConfigSource::kLegacyIni);
  const AgentConfig& config = loaded->config;
  EXPECT_EQ(config.polling.interval, 90min);
  EXPECT_FALSE(config.polling.enabled);
  EXPECT_TRUE(config.storage.read_only);
  EXPECT_EQ(config.storage.runtime_settings, "/run/updatehub/state");
  EXPECT_EQ(config.storage.state_file, "/run/updatehub/state.json");
  EXPECT_EQ(config.update.download_dir, "/tmp/download");
  EXPECT_THAT(config.update.supported_install_modes, ElementsAre("mode1", "mode2"));
  EXPECT_EQ(config.network.server_address, "http://localhost");
  EXPECT_EQ(config.network.listen_socket, "localhost:8313");
  EXPECT_EQ(config.firmware.metadata, "/tmp/metadata");
  // Keys the v1 agents had and we do not are warnings, as they were ignored then.
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_THAT(loaded->warnings[0], HasSubstr(":14: Update.AutoRebootAfterInstall: not a key"));
}

// "[Polling]" on a line of its own marks the v1 format, but not inside a TOML multi-line
// string; a v1 file that happens to be valid TOML is still v1.
TEST(AgentConfigTest, FormatIsTheOneTheFileReadsAs) {
  auto toml = ParseConfig(R"(
[update]
reboot_command = ["/bin/echo", """
[Polling]
"""]
)",
                          "test.conf");
  ASSERT_TRUE(toml) << toml.error().message();
  EXPECT_EQ(toml->source, ConfigSource::kToml);
  EXPECT_THAT(toml->config.update.reboot_command, ElementsAre("/bin/echo", "[Polling]\n"));

  auto legacy = ParseConfig("[Polling]\nEnabled=false\n", "test.conf");
  ASSERT_TRUE(legacy) << legacy.error().message();
  EXPECT_EQ(legacy->source, ConfigSource::kLegacyIni);
  EXPECT_FALSE(legacy->config.polling.enabled);
}

TEST(AgentConfigTest, LegacyIniErrorsNameLineAndKey) {
  EXPECT_THAT(ErrorOf("[Polling]\nInterval=5x\n"),
              HasSubstr("/etc/updatehub.conf:2: Polling.Interval: '5x' is not a duration"));
  EXPECT_THAT(ErrorOf("[Polling]\nInterval=30s\n"),
              HasSubstr(":2: Polling.Interval: '30s' is shorter than the minimum of 60s"));
  EXPECT_THAT(ErrorOf("[Polling]\nEnabled=maybe\n"),
              HasSubstr(":2: Polling.Enabled: 'maybe' is not a boolean"));
  EXPECT_THAT(ErrorOf("[Network]\nServerAddress=localhost\n"),
              HasSubstr(":2: Network.ServerAddress: 'localhost' must start with http://"));
  EXPECT_THAT(ErrorOf("[Polling]\nthis line is garbage\n"),
              HasSubstr("/etc/updatehub.conf:2: 'this line is garbage' is not [Section] or "
                        "Key=Value"));
}

TEST(AgentConfigTest, ParseDurationAcceptsUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("60s"), 60s);
  EXPECT_EQ(ParseDuration("90m"), 90min);
  EXPECT_EQ(ParseDuration("6h"), 6h);
  EXPECT_EQ(ParseDuration("1d"), 24h);
  EXPECT_EQ(ParseDuration("1h0m0s"), 1h);
  EXPECT_EQ(ParseDuration("1d12h"), 36h);
  for (const char* bad : {"", "5", "5x", "1.5h", "-1m", "m", "1 d", "1ms", "99999999999d"}) {
    auto parsed = ParseDuration(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_THAT(parsed.error().message(), HasSubstr("is not a duration")) << bad;
    }
  }
}

TEST(AgentConfigTest, TargetPathsLandUnderTheTargetRoot) {
  UpdateConfig update;
  EXPECT_EQ(update.UnderTargetRoot("/dev/mmcblk0p2"), std::filesystem::path("/dev/mmcblk0p2"));
  update.target_root = "/srv/sim";
  EXPECT_EQ(update.UnderTargetRoot("/dev/mmcblk0p2"),
            std::filesystem::path("/srv/sim/dev/mmcblk0p2"));
  EXPECT_EQ(update.UnderTargetRoot("/dev/../../../etc/passwd"),
            std::filesystem::path("/srv/sim/etc/passwd"));
  auto relative = update.UnderTargetRoot("dev/sda");
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().code(), Errc::kInvalidArgument);
}

TEST(AgentConfigTest, InfoJsonHasExactlyUpstreamFields) {
  AgentConfig config;
  config.network.product_token = "secret";
  const auto json = ConfigToInfoJson(config);
  EXPECT_EQ(json, nlohmann::json::parse(R"({
    "firmware": {"metadata": "/usr/share/updatehub"},
    "network": {"server_address": "https://api.updatehub.io", "listen_socket": "localhost:8080"},
    "polling": {"interval": "86400s", "enabled": true},
    "storage": {"read_only": false,
                "runtime_settings": "/var/lib/updatehub/runtime_settings.conf"},
    "update": {"download_dir": "/tmp/updatehub",
               "supported_install_modes": ["dry-run", "copy", "flash", "imxkobs", "raw",
                                           "tarball", "ubifs"]}
  })"));
}

}  // namespace
}  // namespace uh::agent
