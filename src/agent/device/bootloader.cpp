#include "agent/device/bootloader.hpp"

#include "agent/device/ini.hpp"
#include "agent/device/script_runner.hpp"

namespace uh::agent {

using device_internal::RunScriptForOutput;
using device_internal::ScriptOptions;
using device_internal::Trim;

namespace {

constexpr std::string_view kGet = "updatehub-active-get";
constexpr std::string_view kSet = "updatehub-active-set";
constexpr std::string_view kValidated = "updatehub-active-validated";

Expected<void> CheckSlot(int slot) {
  if (slot != 0 && slot != 1) {
    return Fail(Errc::kInvalidArgument, "slot " + std::to_string(slot) + " is not 0 or 1");
  }
  return {};
}

}  // namespace

Expected<int> InactiveSlot(Bootloader& bootloader) {
  auto active = bootloader.ActiveSlot();
  if (!active) return std::unexpected(std::move(active.error()));
  return 1 - *active;
}

std::string SlotCommands::Command(std::string_view name) const {
  if (options_.dir.empty()) return std::string(name);
  return (options_.dir / name).string();
}

Expected<std::string> SlotCommands::Run(std::vector<std::string> argv) const {
  const std::string name = std::filesystem::path(argv.front()).filename().string();
  // The commands print a digit or nothing; a small limit catches runaway output.
  ScriptOptions script;
  script.timeout = options_.timeout;
  script.output_limit = 4096;
  script.env = options_.env;
  auto output = RunScriptForOutput(argv, script);
  if (!output) return std::unexpected(std::move(output.error()).WithContext(name));
  return output;
}

Expected<int> SlotCommands::ActiveSlot() {
  auto output = Run({Command(kGet)});
  if (!output) return std::unexpected(std::move(output.error()));
  // Upstream trims the output; anything but one digit 0 or 1 is a broken backend.
  const auto answer = Trim(*output);
  if (answer == "0") return 0;
  if (answer == "1") return 1;
  const std::string shown =
      answer.size() > 40 ? std::string(answer.substr(0, 40)) + "..." : std::string(answer);
  return Fail(Errc::kMalformed,
              std::string(kGet) + ": printed '" + shown + "'; expected the active slot, 0 or 1");
}

Expected<void> SlotCommands::SetActiveSlot(int slot) {
  UH_TRY(CheckSlot(slot));
  auto output = Run({Command(kSet), std::to_string(slot)});
  if (!output) return std::unexpected(std::move(output.error()));
  return {};
}

Expected<void> SlotCommands::MarkValidated() {
  auto output = Run({Command(kValidated)});
  if (!output) return std::unexpected(std::move(output.error()));
  return {};
}

Expected<void> MemoryBootloader::TakeFailure() {
  if (!fail_next_) return {};
  Error error = std::move(*fail_next_);
  fail_next_.reset();
  return std::unexpected(std::move(error));
}

Expected<int> MemoryBootloader::ActiveSlot() {
  UH_TRY(TakeFailure());
  return active_;
}

Expected<void> MemoryBootloader::SetActiveSlot(int slot) {
  UH_TRY(TakeFailure());
  UH_TRY(CheckSlot(slot));
  active_ = slot;
  upgrade_available_ = true;
  bootcount_ = 0;
  return {};
}

Expected<void> MemoryBootloader::MarkValidated() {
  UH_TRY(TakeFailure());
  upgrade_available_ = false;
  bootcount_ = 0;
  return {};
}

void MemoryBootloader::SimulateBoot() {
  if (!upgrade_available_) return;
  ++bootcount_;
  if (bootcount_ >= 2) active_ = 1 - active_;
}

}  // namespace uh::agent
