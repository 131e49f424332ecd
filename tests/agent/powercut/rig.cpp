#include "rig.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "package/package_reader.hpp"

namespace uh::agent::powercut {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kImageBytes = 16 << 20;

std::string Tail(const std::string& text, std::size_t bytes) {
  return text.size() <= bytes ? text : "...\n" + text.substr(text.size() - bytes);
}

// The decimal number right after the first `prefix` in `text`.
std::optional<std::int64_t> NumberAfter(std::string_view text, std::string_view prefix) {
  const auto at = text.find(prefix);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = text.data() + at + prefix.size();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return value;
}

json ReadJson(const fs::path& path) {
  return json::parse(uh::testing::ReadFile(path), nullptr, false);
}

}  // namespace

TestPackage::TestPackage(bool compressed) {
  object = SlotImage(kImageBytes, "2.0", 7);
  fs::path image = dir / "rootfs.img";
  uh::testing::WriteFile(image, object);
  if (compressed) {
    const auto zipped = uh::testing::Run({"gzip", "-1", image.string()});
    if (zipped.status != 0) throw std::runtime_error("gzip: " + zipped.err);
    image += ".gz";
  }
  file = dir / "update-2.0.uhupkg";
  const auto created = uh::testing::Run(
      {uh::testing::PkgTool().string(), "create", "--product", server::testing::kConformanceProduct,
       "--version", "2.0", "--hardware", "board-a", "--object",
       image.string() + ",mode=raw,target=/dev/slot0,b.target=/dev/slot1", "--key",
       (uh::testing::TestPackagesDir() / "key.pem").string(), "-o", file.string()});
  if (created.status != 0) throw std::runtime_error("updatehub-pkg create: " + created.err);
  auto reader = package::PackageReader::Open(file);
  if (!reader) throw std::runtime_error("reading the package: " + reader.error().message());
  uid = reader->uid();
  object_sha256 = reader->metadata().sets.at(1).at(0).sha256sum;
  transfer_size = reader->metadata().sets.at(1).at(0).size;
  if (compressed != reader->metadata().sets.at(1).at(0).IsCompressed()) {
    throw std::runtime_error("the package's object is not marked compressed");
  }
}

const TestPackage& Package() {
  static const TestPackage package(false);
  return package;
}

const TestPackage& CompressedPackage() {
  static const TestPackage package(true);
  return package;
}

Cut AtHook(std::string hook, int nth, bool boot) {
  Cut cut;
  cut.hook = std::move(hook);
  cut.nth = nth;
  cut.boot = boot;
  return cut;
}

Cut AtLog(std::string text, std::vector<std::pair<std::string, int>> hold) {
  Cut cut;
  cut.log = std::move(text);
  cut.hold = std::move(hold);
  return cut;
}

std::string LastState(const std::string& log) {
  const auto arrow = log.rfind("--> ");
  if (arrow == std::string::npos) return "";
  const auto start = arrow + 4;
  return log.substr(start, log.find_first_of(" \n", start) - start);
}

Rig::Rig(const std::string& serial, Delivery delivery)
    : package_(delivery == Delivery::kDownloadThenInstall ? Package() : CompressedPackage()) {
  server_.SetUpConformanceProduct();
  const auto uploaded = server_.Upload(package_.file);
  EXPECT_EQ(uploaded.status, 201) << uploaded.body;
  const auto rollout = server_.Api(
      "POST", std::string("/api/v1/products/") + server::testing::kConformanceProduct + "/rollouts",
      {{"package", package_.uid}});
  EXPECT_EQ(rollout.status, 201) << rollout.body;
  if (rollout.status == 201) rollout_id_ = json::parse(rollout.body)["id"];
  device_ = std::make_unique<SimDevice>(server_.Url(""), server::testing::kConformanceProduct,
                                        serial, delivery == Delivery::kPiped);
  agent_ = std::make_unique<AgentProcess>(UH_AGENT, device_->config_file(), device_->log_file(),
                                          device_->AgentEnv());
  Note("server and device ready");
}

void Rig::Note(const std::string& event) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - born_);
  events_.push_back("[" + std::to_string(ms.count()) + " ms] " + event);
}

bool Rig::StartAgent() {
  Note("start");
  if (agent_->Start()) return true;
  ADD_FAILURE() << agent_->error();
  return false;
}

void Rig::PowerCut(const std::string& what, bool boot) {
  const std::string state = LastState(agent_->RunLog());
  agent_->PowerCut();
  Note("power cut " + what + " (last state entered: " + state + ")" + (boot ? "" : ", agent only"));
  ExpectInvariants("after the power cut " + what);
  if (!boot) return;
  EXPECT_TRUE(device_->Boot()) << "updatehub-ab-file boot failed";
  const auto env = device_->BootEnv();
  Note("boot: updatehub_active=" +
       (env.contains("updatehub_active") ? env.at("updatehub_active") : "") +
       " bootcount=" + (env.contains("bootcount") ? env.at("bootcount") : "") + "; slot " +
       std::to_string(device_->RunningSlot()) + " runs");
  ExpectInvariants("after the boot that followed the power cut " + what);
}

bool Rig::ExpectInvariants(const std::string& when) {
  const auto violations = device_->Violations(package_.object);
  for (const auto& violation : violations) {
    ADD_FAILURE() << when << ": " << violation << "\n" << Story();
  }
  return violations.empty();
}

std::int64_t Rig::Count(const std::string& state) {
  const auto rollout = server_.Api("GET", "/api/v1/rollouts/" + std::to_string(rollout_id_));
  const auto body = json::parse(rollout.body, nullptr, false);
  if (body.is_discarded()) return -1;
  const auto& states = body["statistics"]["states"];
  if (!states.contains(state)) return 0;
  return states[state]["count"].get<std::int64_t>();
}

json Rig::Reports() {
  auto body = json::parse(server_.Api("GET", "/api/v1/reports?limit=100").body, nullptr, false);
  return body.is_discarded() ? json::array() : body["reports"];
}

std::uint64_t Rig::DownloadedBytes() const {
  std::error_code ec;
  const auto size = fs::file_size(device_->download_dir() / package_.object_sha256, ec);
  return ec ? 0 : size;
}

std::int64_t Rig::ServedBytes() {
  const std::string metrics = server::http::testing::Fetch(server_.Url("/metrics")).body;
  return NumberAfter(metrics, "\nupdatehub_download_bytes_total ").value_or(-1);
}

std::string Rig::Story() {
  std::string out = "events_:";
  for (const auto& event : events_) out += "\n  " + event;
  out += "\nreports (newest first): " + Reports().dump();
  out += "\nagent log:\n" + Tail(agent_->Log(), 12000);
  return out;
}

bool Rig::Reached(const Cut& cut) {
  if (!cut.hook.empty()) return device_->Hits(cut.hook) >= cut.nth;
  return agent_->RunLog().find(cut.log) != std::string::npos;
}

std::string Rig::Stuck(Outcome outcome) {
  if (outcome != Outcome::kUpdated) return "";
  for (const auto& report : Reports()) {
    if (report["status"] == "error") {
      return "the agent reported an error, so the update will not complete: " + report.dump();
    }
  }
  if (Count("failed") > 0) return "the server counts the device as failed";
  // Nothing in an update may wait for the next poll (an hour away): the update was offered.
  const auto wait = NumberAfter(agent_->RunLog(), "next probe in ");
  if (wait && *wait >= 60) {
    return "after the restart the agent waits " + std::to_string(*wait) +
           " s for its next poll instead of resuming or restarting the update it was offered "
           "before the power cut (" +
           (fs::exists(device_->state_file()) ? "the update state file exists"
                                              : "no update state file was written") +
           ")";
  }
  return "";
}

bool Rig::Done(Outcome outcome) {
  if (outcome == Outcome::kUpdated) return Count("updated") >= 1;
  return Count("failed") >= 1 && agent_->RunLog().find("--recovered--> poll") != std::string::npos;
}

bool Rig::Drive(const std::optional<Cut>& cut, Outcome outcome) {
  bool pending = cut.has_value();
  if (cut) {
    if (!cut->hook.empty()) device_->Hold(cut->hook, cut->nth);
    for (const auto& [hook, nth] : cut->hold) device_->Hold(hook, nth);
  }
  int reboots = device_->Hits("rebooted");
  if (!agent_->Running() && !StartAgent()) return false;
  const auto deadline = Clock::now() + 30s * kSlowdown;
  auto next_check = Clock::now();
  while (Clock::now() < deadline) {
    if (pending && Reached(*cut)) {
      pending = false;
      PowerCut(cut->hook.empty() ? "at '" + cut->log + "'"
                                 : "at hook " + cut->hook + " #" + std::to_string(cut->nth),
               cut->boot);
      device_->ReleaseAll();
      reboots = device_->Hits("rebooted");  // a cut at the reboot command is not a reboot
      if (!StartAgent()) return false;
      continue;
    }
    if (const int hits = device_->Hits("rebooted"); hits > reboots) {
      // The reboot command ran: the device goes down now.
      reboots = hits;
      PowerCut("at the reboot");
      if (!StartAgent()) return false;
      continue;
    }
    if (!agent_->Running()) {
      ADD_FAILURE() << agent_->error() << "\n" << Story();
      return false;
    }
    if (Clock::now() >= next_check) {
      if (!ExpectInvariants("while the agent runs")) return false;
      if (Done(outcome)) {
        Note(outcome == Outcome::kUpdated ? "the server counts the device updated"
                                          : "the server counts the device failed");
        if (!pending) return true;
        ADD_FAILURE() << "the update ended without reaching the cut point\n" << Story();
        return false;
      }
      if (const auto why = Stuck(outcome); !why.empty()) {
        // The server counts a device in its rollout statistics a little after the probe that
        // made it `updated`: give it that time before calling the update stuck.
        if (WaitUntil([&] { return Done(outcome); }, 1s * kSlowdown, 50ms)) continue;
        ADD_FAILURE() << why << "\n" << Story();
        return false;
      }
      next_check = Clock::now() + 50ms;
    }
    std::this_thread::sleep_for(2ms);
  }
  ADD_FAILURE() << "the update did not reach its end in " << 30 * kSlowdown << " s\n" << Story();
  return false;
}

void Rig::ExpectFinal(Outcome outcome) {
  const auto env = device_->BootEnv();
  const auto runtime = ReadJson(device_->runtime_settings());
  ASSERT_FALSE(runtime.is_discarded());
  const json update = runtime.value("update", json::object());
  EXPECT_TRUE(!update.contains("upgrade_to_installation") ||
              update["upgrade_to_installation"].is_null())
      << runtime.dump();
  EXPECT_FALSE(fs::exists(device_->state_file()));
  EXPECT_EQ(env.contains("upgrade_available") ? env.at("upgrade_available") : "", "0");
  if (outcome == Outcome::kUpdated) {
    EXPECT_EQ(Count("updated"), 1);
    EXPECT_EQ(Count("failed"), 0);
    for (const auto& report : Reports()) EXPECT_NE(report["status"], "error") << report.dump();
    EXPECT_EQ(env.contains("updatehub_active") ? env.at("updatehub_active") : "", "1");
    EXPECT_TRUE(uh::testing::ReadFile(device_->slot_file(1)) == package_.object)
        << "slot 1 does not hold exactly the package's object";
    EXPECT_FALSE(fs::exists(device_->download_dir() / package_.object_sha256));
    EXPECT_EQ(update.value("applied_package_uid", ""), package_.uid) << runtime.dump();
  } else {
    EXPECT_EQ(Count("failed"), 1);
    EXPECT_EQ(Count("updated"), 0);
    EXPECT_EQ(env.contains("updatehub_active") ? env.at("updatehub_active") : "", "0");
    const auto reports = Reports();
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports[0]["status"], "error") << reports.dump();
    EXPECT_NE(reports[0].value("error_message", "").find("did not boot"), std::string::npos)
        << reports.dump();
  }
  ExpectInvariants("at the end");
  EXPECT_TRUE(agent_->Stop(10s * kSlowdown)) << agent_->error() << "\n" << Story();
  if (std::getenv("UH_POWERCUT_VERBOSE") != nullptr) {
    for (const auto& event : events_) std::cout << "  " << event << "\n";
  }
}

}  // namespace uh::agent::powercut
