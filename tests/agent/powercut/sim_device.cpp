#include "sim_device.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace uh::agent::powercut {
namespace {

namespace fs = std::filesystem;

const std::string kAbFile = std::string(UH_DIST_DIR) + "/ab/file";

void Script(const fs::path& path, const std::string& body) {
  fs::create_directories(path.parent_path());
  uh::testing::WriteFile(path, "#!/bin/sh\n" + body + "\n");
  fs::permissions(path, fs::perms::owner_all);
}

// `text` with every {name} of `vars` replaced.
std::string Fill(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out(text);
  for (const auto& [name, value] : vars) {
    for (auto at = out.find(name); at != std::string::npos;
         at = out.find(name, at + value.size())) {
      out.replace(at, name.size(), value);
    }
  }
  return out;
}

// A missing file reads as empty.
std::string ReadIfPresent(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::string out(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

// A problem with a JSON file that must be absent or a whole JSON object; empty when fine.
std::string JsonFileProblem(const fs::path& path, std::string_view what) {
  std::error_code ec;
  if (fs::exists(fs::path(path.string() + ".old"), ec)) {
    return std::string(what) + " was found corrupt by the agent and moved to " + path.string() +
           ".old";
  }
  // Opened once: the agent may remove the file at any moment (an update ends), and a file that
  // is gone by the time it is opened is absent, not empty. One that opens is whole: the agent
  // replaces these files by rename.
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return std::string(what) + " " + path.string() + " is not a JSON object (" +
           std::to_string(text.size()) + " bytes): " + text.substr(0, 200);
  }
  return "";
}

// A TCP port free on 127.0.0.1 right now. The agent's config cannot say "port 0", and the
// agent is another process: it gets a port that was just free, which is good enough here.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

std::string SlotImage(std::size_t size, const std::string& version, unsigned seed) {
  const std::string tail = "\nuh-version " + version + "\n";
  std::string image = uh::testing::RandomBytes(size - tail.size(), seed);
  image += tail;
  return image;
}

SimDevice::SimDevice(const std::string& server_url, const std::string& product,
                     const std::string& serial, bool stream_objects) {
  const fs::path root = dir_ / "root";
  fs::create_directories(root / "dev");
  uh::testing::WriteFile(slot_file(0), SlotImage(64 * 1024, "1.0", 3));
  uh::testing::WriteFile(slot_file(1), "");  // the raw installer never creates its target
  fs::create_directories(var());
  PowerOn(0);

  const fs::path slots = dir_ / "slots";
  const fs::path meta = dir_ / "metadata";
  const std::map<std::string, std::string> vars = {
      {"{dir}", dir_.path().string()},
      {"{ab}", kAbFile},
      {"{slots}", slots.string()},
      {"{root}", root.string()},
      {"{meta}", meta.string()},
      {"{server}", server_url},
      {"{port}", std::to_string(FreePort())},
      {"{runtime}", runtime_settings().string()},
      {"{state}", state_file().string()},
      {"{download}", download_dir().string()},
      {"{stream}", stream_objects ? "true" : "false"},
  };
  const auto script = [&](const fs::path& path, std::string_view body) {
    Script(path, Fill(body, vars));
  };
  script(dir_ / "hook",
         R"(# hook NAME: records that NAME was reached; waits while that arrival is held.
echo "$1" >> {dir}/hooks
n=$(grep -cx "$1" {dir}/hooks)
i=0
while [ -e {dir}/hold-$1-$n ] && [ $i -lt 3000 ]; do
  sleep 0.02
  i=$((i + 1))
done
exit 0)");

  // The slot commands: the shipped file backend, with a hook before a switch.
  script(slots / "updatehub-active-get", R"(exec {ab}/updatehub-active-get "$@")");
  script(slots / "updatehub-active-set",
         "{dir}/hook set\n"
         R"(exec {ab}/updatehub-active-set "$@")");
  script(slots / "updatehub-active-validated", R"(exec {ab}/updatehub-active-validated "$@")");

  script(meta / "product-uid", "echo " + product);
  script(meta / "version", R"(slot=$(cat {dir}/running-slot) || exit 1
v=$(tail -c 64 {root}/dev/slot$slot | sed -n 's/^uh-version //p')
echo "${v:-unknown}")");
  script(meta / "hardware", "echo board-a");
  script(meta / "device-identity.d" / "serial", "echo serial=" + serial);
  script(meta / "state-change-callback", R"(exec {dir}/hook "$1")");
  script(meta / "validate-callback", R"(cat {dir}/running-slot >> {dir}/validations
exec {dir}/hook validate)");
  fs::copy_file(uh::testing::TestPackagesDir() / "key.pub", meta / "key.pub");

  // polling.interval is long on purpose: nothing in an update may wait for the next poll.
  uh::testing::WriteFile(config_file(), Fill(R"([network]
server_address = "{server}"
listen_socket = "127.0.0.1:{port}"
[storage]
runtime_settings = "{runtime}"
state_file = "{state}"
[polling]
enabled = true
interval = "1h"
jitter_percent = 0
[update]
download_dir = "{download}"
supported_install_modes = ["raw"]
target_root = "{root}"
reboot_command = ["{dir}/hook", "rebooted"]
slot_commands_dir = "{slots}"
stream_objects = {stream}
[firmware]
metadata = "{meta}"
)",
                                             vars));
}

std::vector<std::string> SimDevice::AgentEnv() const {
  return {"UPDATEHUB_AB_ENV=" + (dir_ / "abenv").string()};
}

fs::path SimDevice::hold_file(std::string_view hook, int nth) const {
  return dir_ / ("hold-" + std::string(hook) + "-" + std::to_string(nth));
}

void SimDevice::Hold(std::string_view hook, int nth) {
  uh::testing::WriteFile(hold_file(hook, nth), "");
}

void SimDevice::ReleaseAll() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_.path(), ec)) {
    if (entry.path().filename().string().starts_with("hold-")) fs::remove(entry.path(), ec);
  }
}

int SimDevice::Hits(std::string_view hook) const {
  std::istringstream lines(ReadIfPresent(dir_ / "hooks"));
  int hits = 0;
  for (std::string line; std::getline(lines, line);) hits += line == hook ? 1 : 0;
  return hits;
}

bool SimDevice::Boot() {
  const auto booted =
      uh::testing::Run({"env", AgentEnv().front(), kAbFile + "/updatehub-ab-file", "boot"});
  if (booted.status != 0) return false;
  const auto env = BootEnv();
  PowerOn(env.contains("updatehub_active") && env.at("updatehub_active") == "1" ? 1 : 0);
  return true;
}

void SimDevice::PowerOn(int slot) {
  static unsigned boots = 0;
  uh::testing::WriteFile(dir_ / "running-slot", std::to_string(slot) + "\n");
  const fs::path boot_id = dir_ / "root" / "proc" / "sys" / "kernel" / "random" / "boot_id";
  fs::create_directories(boot_id.parent_path());
  uh::testing::WriteFile(boot_id, "powercut-boot-" + std::to_string(++boots) + "\n");
}

int SimDevice::RunningSlot() const { return ReadIfPresent(dir_ / "running-slot") == "1\n" ? 1 : 0; }

std::map<std::string, std::string> SimDevice::BootEnv() const {
  std::map<std::string, std::string> vars;
  std::istringstream lines(ReadIfPresent(dir_ / "abenv"));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    vars[eq == std::string::npos ? "(malformed) " + line : line.substr(0, eq)] =
        eq == std::string::npos ? "" : line.substr(eq + 1);
  }
  return vars;
}

fs::path SimDevice::slot_file(int slot) const {
  return dir_ / "root" / "dev" / ("slot" + std::to_string(slot));
}

std::string SimDevice::SlotProblem(const std::string& object) const {
  std::error_code ec;
  const auto size = fs::file_size(slot_file(1), ec);
  const auto modified = fs::last_write_time(slot_file(1), ec);
  // Comparing 16 MiB every few milliseconds would slow the agent down: once is enough per
  // version of the file.
  if (!ec && size == object.size() && verified_slot_ == std::pair{size, modified}) return "";
  const std::string slot = ReadIfPresent(slot_file(1));
  if (slot != object) {
    return "slot 1 holds " + std::to_string(slot.size()) +
           " bytes that are not the package's object (" + std::to_string(object.size()) + " bytes)";
  }
  if (!ec) verified_slot_ = std::pair{size, modified};
  return "";
}

std::vector<std::string> SimDevice::Violations(const std::string& object) const {
  std::vector<std::string> out;
  const auto env = BootEnv();
  for (const auto& [name, value] : env) {
    if (name.starts_with("(malformed)")) out.push_back("bootloader env line '" + name + "'");
  }
  if (auto active = env.find("updatehub_active"); active != env.end()) {
    if (active->second != "0" && active->second != "1") {
      out.push_back("updatehub_active is '" + active->second + "'");
    } else if (active->second == "1") {
      // Read after the env: the agent writes the slot before switching to it.
      if (auto problem = SlotProblem(object); !problem.empty()) {
        out.push_back("updatehub_active=1 but " + problem);
      }
    }
  }
  std::istringstream validations(ReadIfPresent(dir_ / "validations"));
  for (std::string slot; std::getline(validations, slot);) {
    if (slot != "1") {
      out.push_back("the validate-callback ran while the device runs slot " + slot +
                    ": the agent validated slot 1 although the device never booted into it");
    }
  }
  for (const auto& problem : {JsonFileProblem(runtime_settings(), "the runtime settings"),
                              JsonFileProblem(state_file(), "the update state")}) {
    if (!problem.empty()) out.push_back(problem);
  }
  return out;
}

}  // namespace uh::agent::powercut
