#pragma once

// The A/B bootloader: which slot (0 = A, 1 = B) boots, switching to the other one for an
// update, and confirming that a new slot works. Backends are interchangeable:
//   SlotCommands      upstream's convention, the commands updatehub-active-get (prints 0 or 1),
//                     updatehub-active-set N and updatehub-active-validated; dist/ab/ ships
//                     them for U-Boot, GRUB and a plain file (simulated devices)
//   MemoryBootloader  in memory, for tests of the code that drives a bootloader

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace uh::agent {

class Bootloader {
 public:
  virtual ~Bootloader() = default;

  // The slot that booted (or boots next, once SetActiveSlot ran): 0 or 1.
  [[nodiscard]] virtual Expected<int> ActiveSlot() = 0;
  // Boots `slot` (0 or 1) from the next reboot on, on trial until MarkValidated.
  [[nodiscard]] virtual Expected<void> SetActiveSlot(int slot) = 0;
  // The running slot works: stop the bootloader's fallback to the other one.
  [[nodiscard]] virtual Expected<void> MarkValidated() = 0;
};

// The slot that is not active: where an update is installed.
[[nodiscard]] Expected<int> InactiveSlot(Bootloader& bootloader);

struct SlotCommandsOptions {
  std::filesystem::path dir;  // where the commands are; empty: looked up on PATH
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::vector<std::pair<std::string, std::string>> env;  // added to the commands' environment
};

class SlotCommands final : public Bootloader {
 public:
  explicit SlotCommands(SlotCommandsOptions options = {}) : options_(std::move(options)) {}

  // Fails unless updatehub-active-get exits 0 printing exactly "0" or "1" (and a newline).
  [[nodiscard]] Expected<int> ActiveSlot() override;
  [[nodiscard]] Expected<void> SetActiveSlot(int slot) override;
  [[nodiscard]] Expected<void> MarkValidated() override;

 private:
  [[nodiscard]] std::string Command(std::string_view name) const;
  [[nodiscard]] Expected<std::string> Run(std::vector<std::string> argv) const;

  SlotCommandsOptions options_;
};

// A bootloader env in memory with U-Boot's semantics (see dist/ab/README.md).
class MemoryBootloader final : public Bootloader {
 public:
  explicit MemoryBootloader(int active = 0) : active_(active) {}

  [[nodiscard]] Expected<int> ActiveSlot() override;
  [[nodiscard]] Expected<void> SetActiveSlot(int slot) override;
  [[nodiscard]] Expected<void> MarkValidated() override;

  // What U-Boot does at power-on: while a slot is on trial, count the boot; from the second
  // unconfirmed boot on, switch to the other slot.
  void SimulateBoot();
  // The next call (any method) fails with `error`.
  void FailNextCall(Error error) { fail_next_ = std::move(error); }

  [[nodiscard]] bool upgrade_available() const { return upgrade_available_; }
  [[nodiscard]] int bootcount() const { return bootcount_; }

 private:
  [[nodiscard]] Expected<void> TakeFailure();

  int active_;
  bool upgrade_available_ = false;
  int bootcount_ = 0;
  std::optional<Error> fail_next_;
};

}  // namespace uh::agent
