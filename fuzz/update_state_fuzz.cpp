// LoadUpdateState on an untrusted state file (cut short by a power loss, damaged on flash,
// tampered with). Loading never fails for a bad file: it is moved aside with a warning, and the
// update starts over. A state that loads is consistent (its metadata hashes to its package uid,
// its slots are 0 or 1) and survives SaveUpdateState and a second load unchanged, so a restart
// resumes exactly the update that was saved.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/daemon/update_state.hpp"
#include "core/hash.hpp"
#include "fuzz_check.hpp"
#include "fuzz_support.hpp"

namespace {

using uh::agent::UpdateState;

std::optional<std::string> UidOf(std::string_view metadata) { return uh::Sha256Hex(metadata); }

bool Same(const UpdateState& a, const UpdateState& b) {
  return a.phase == b.phase && a.package_uid == b.package_uid && a.metadata == b.metadata &&
         a.signature == b.signature && a.remote == b.remote && a.target_slot == b.target_slot &&
         a.previous_slot == b.previous_slot && a.boot_id == b.boot_id && a.plan == b.plan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const uh::fuzz::ScratchDir dir;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto path = dir.Write("state.json", text);

  auto loaded = uh::agent::LoadUpdateState(path, UidOf);
  if (!loaded) std::fprintf(stderr, "load: %s\n", loaded.error().message().c_str());
  UH_FUZZ_CHECK(loaded.has_value(), "a bad state file is an error, not a fresh start");
  if (!loaded->state) {
    UH_FUZZ_CHECK(loaded->warning.has_value(), "a bad state file is dropped without a warning");
    UH_FUZZ_CHECK(!std::filesystem::exists(path) && std::filesystem::exists(path.string() + ".old"),
                  "a bad state file is not moved aside");
    return 0;
  }
  const UpdateState& state = *loaded->state;
  UH_FUZZ_CHECK(uh::Sha256Hex(state.metadata) == state.package_uid,
                "a state whose metadata does not hash to its package uid loads");
  UH_FUZZ_CHECK((state.target_slot == 0 || state.target_slot == 1) &&
                    (state.previous_slot == 0 || state.previous_slot == 1),
                "a state with a slot other than 0 or 1 loads");

  const auto saved_path = dir.path() / "saved.json";
  try {
    const auto saved = uh::agent::SaveUpdateState(saved_path, state);
    if (!saved) std::fprintf(stderr, "save: %s\n", saved.error().message().c_str());
    UH_FUZZ_CHECK(saved.has_value(), "a loaded state cannot be saved");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "save threw: %s\n", e.what());
    UH_FUZZ_CHECK(false, "saving a loaded state throws");
  }
  auto reloaded = uh::agent::LoadUpdateState(saved_path, UidOf);
  UH_FUZZ_CHECK(reloaded && reloaded->state && !reloaded->warning, "a saved state does not load");
  UH_FUZZ_CHECK(Same(*reloaded->state, state), "a saved state loads different");
  return 0;
}
