// Power cuts: the real agent binary is killed (SIGKILL to its process group: the agent and any
// callback or slot command it runs) as it enters each state of an update, and at random points
// inside download and install; then restarted, after the bootloader ran when the device
// rebooted. It must always resume or restart the update and end with the server counting the
// device `updated`, never switch to a slot whose content is not completely written, and never
// leave its runtime settings or update state unreadable. See rig.hpp for the rig and
// sim_device.hpp for the device and its invariants.
//
// UH_POWERCUT_SEED=N repeats the random cuts of a run; the seed is printed with any failure.

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <vector>

#include "rig.hpp"

namespace uh::agent::powercut {
namespace {

using namespace std::chrono_literals;

struct StateCut {
  const char* name;
  Cut cut;
  Outcome outcome;
};

// Each state of an update, in order, with the cut at its entrance. The callbacks are held so
// that the cut lands inside the state, before it does anything.
const StateCut kStateCuts[] = {
    // Poll waits for nothing on a first start; holding probe's callback keeps the cut in poll
    // or at the very start of probe.
    {"Poll", AtLog("entry_point --ready--> poll", {{"probe", 1}}), Outcome::kUpdated},
    {"Probe", AtHook("probe"), Outcome::kUpdated},
    // Validation has no callback; holding download's keeps the cut in validation or at the very
    // start of download, before the update state is written.
    {"Validation", AtLog("--update--> validation", {{"download", 1}}), Outcome::kUpdated},
    {"Download", AtHook("download"), Outcome::kUpdated},
    {"Install", AtHook("install"), Outcome::kUpdated},
    {"Reboot", AtHook("reboot"), Outcome::kUpdated},
    // Inside the reboot state: while updatehub-active-set is switching the bootloader to slot 1.
    {"RebootWhileSwitchingSlots", AtHook("set"), Outcome::kUpdated},
    // Inside the reboot state, after the switch, while the reboot command runs, only the agent
    // dies (a crash, the OOM killer) and its supervisor restarts it: the device did not reboot,
    // so slot 1 must not be validated yet.
    {"RebootAgentOnly", AtHook("rebooted", 1, false), Outcome::kUpdated},
    // The first boot of slot 1, in its validate-callback. If only the agent dies (the device
    // stays up), the restarted agent validates the slot again.
    {"ValidateAgentOnly", AtHook("validate", 1, false), Outcome::kUpdated},
    // If the power goes, that was the new slot's one trial boot: the bootloader goes back to
    // slot 0, and the agent reports the update failed. Safe, by the bootloader's design.
    {"ValidatePowerCut", AtHook("validate"), Outcome::kRolledBack},
    // The probe after validation, which tells the server the device runs the new version.
    {"ProbeAfterValidation", AtHook("probe", 2), Outcome::kUpdated},
};

void PrintTo(const StateCut& point, std::ostream* out) { *out << point.name; }

class PowerCutAtStateTest : public ::testing::TestWithParam<StateCut> {};

TEST_P(PowerCutAtStateTest, ResumesAndEndsCorrectly) {
  const StateCut& point = GetParam();
  Rig rig("powercut-state");
  ASSERT_TRUE(rig.Drive(point.cut, point.outcome));
  rig.ExpectFinal(point.outcome);
}

INSTANTIATE_TEST_SUITE_P(EachState, PowerCutAtStateTest, ::testing::ValuesIn(kStateCuts),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

std::uint64_t Seed() {
  if (const char* text = std::getenv("UH_POWERCUT_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

// Cuts the power when `done` holds, or at the latest when the agent reaches the reboot state
// (whose callback is held: it cannot go further). Returns the state the cut landed in.
std::string CutWhen(Rig& rig, const std::function<bool()>& done, const std::string& what) {
  const bool reached = WaitUntil(
      [&] {
        const auto state = LastState(rig.agent().RunLog());
        return done() || state == "reboot" || !rig.agent().Running();
      },
      30s * kSlowdown, 1ms);
  EXPECT_TRUE(reached) << "waiting to cut " << what << "\n" << rig.Story();
  const std::string landed = LastState(rig.agent().RunLog());
  rig.PowerCut(what);
  return landed;
}

// Random points inside download and install: per cycle (a fresh server and device), three cuts
// at random fractions of the download, then three at random fractions of the install; then the
// update runs to its end. Three cycles (two under ASan+UBSan); each run draws new points. The
// cycles take turns: the raw image written into the slot as it downloads (its install only
// checks the slot, so the install cuts mostly land after it), and the compressed one
// decompressed into the slot at install (where the install cuts land).
TEST(PowerCutRandomTest, RandomPointsInsideDownloadAndInstall) {
  const std::uint64_t seed = Seed();
  SCOPED_TRACE("UH_POWERCUT_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> fraction(0.02, 0.98);
  constexpr int kCycles = kSlowdown > 1 ? 2 : 3;  // ASan+UBSan: each cycle takes 4 times as long
  constexpr int kCutsPerPhase = 3;
  std::map<std::string, int> landed;
  std::vector<std::int64_t> served;
  for (int cycle = 0; cycle < kCycles && !HasFailure(); ++cycle) {
    Rig rig(
        "powercut-random-" + std::to_string(cycle),
        cycle % 2 == 0 ? Delivery::kCompressedDownloadThenInstall : Delivery::kDownloadThenInstall);
    // Download cuts are placed by the bytes that arrived, install cuts by the bytes written.
    const double size = static_cast<double>(rig.package().transfer_size);
    const double image = static_cast<double>(rig.package().object.size());
    // No cut may land beyond install: every arrival at the reboot callback waits.
    for (int n = 1; n <= 2 * kCutsPerPhase + 1; ++n) rig.device().Hold("reboot", n);
    for (int i = 0; i < kCutsPerPhase && !HasFailure(); ++i) {
      const auto have = static_cast<double>(rig.DownloadedBytes());
      if (have >= size) break;  // an earlier cut came after the last byte
      const auto at = static_cast<std::uint64_t>(have + fraction(random) * (size - have));
      ASSERT_TRUE(rig.StartAgent());
      const auto state = CutWhen(
          rig, [&] { return rig.DownloadedBytes() >= at; },
          "in download at byte " + std::to_string(at));
      ++landed[state];
    }
    for (int i = 0; i < kCutsPerPhase && !HasFailure(); ++i) {
      const double f = fraction(random);
      ASSERT_TRUE(rig.StartAgent());
      ASSERT_TRUE(WaitUntil([&] { return LastState(rig.agent().RunLog()) == "install"; },
                            30s * kSlowdown, 1ms))
          << rig.Story();
      // The bytes the agent writes from here on are, almost all, the image going to slot 1.
      const auto base = rig.agent().WrittenBytes();
      const auto start = std::chrono::steady_clock::now();
      const auto state = CutWhen(
          rig,
          [&] {
            const auto now = rig.agent().WrittenBytes();
            if (base && now) return *now > *base && static_cast<double>(*now - *base) >= f * image;
            return std::chrono::steady_clock::now() - start >= f * 200ms * kSlowdown;
          },
          "in install at " + std::to_string(static_cast<int>(f * 100)) + "% of the image");
      ++landed[state];
    }
    rig.device().ReleaseAll();
    ASSERT_TRUE(rig.Drive(std::nullopt, Outcome::kUpdated));
    rig.ExpectFinal(Outcome::kUpdated);
    // A resumed download asks for the bytes not on disk, so what the server sent beyond the
    // object's size is what was in flight at the cuts.
    served.push_back(rig.ServedBytes());
  }
  std::cout << "seed " << seed << "; cuts landed in:";
  for (const auto& [state, count] : landed) std::cout << " " << state << "=" << count;
  std::cout << "; object bytes the server sent per cycle (object " << Package().transfer_size
            << " raw, " << CompressedPackage().transfer_size << " compressed):";
  for (const auto bytes : served) std::cout << " " << bytes;
  std::cout << "\n";
  EXPECT_GE(landed["download"], 1) << "no cut landed inside a download";
  EXPECT_GE(landed["install"], 1) << "no cut landed inside an install";
}

// Piped (update.stream_objects with a compressed image): download and install are one step, the
// worker decompressing into slot 1 as the bytes arrive. Three cuts at random points of that
// writing; each restart starts the object over (nothing of it is kept), and slot 1 is activated
// only once the whole object hashed right (the device's invariants, checked throughout).
TEST(PowerCutRandomTest, RandomPointsInsideAPipedInstall) {
  const std::uint64_t seed = Seed();
  SCOPED_TRACE("UH_POWERCUT_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> fraction(0.02, 0.98);
  const double size = static_cast<double>(CompressedPackage().object.size());
  constexpr int kCuts = 3;
  Rig rig("powercut-piped", Delivery::kPiped);
  for (int n = 1; n <= kCuts + 1; ++n) rig.device().Hold("reboot", n);
  int inside = 0;
  for (int i = 0; i < kCuts && !HasFailure(); ++i) {
    const double f = fraction(random);
    ASSERT_TRUE(rig.StartAgent());
    ASSERT_TRUE(WaitUntil([&] { return LastState(rig.agent().RunLog()) == "download"; },
                          30s * kSlowdown, 1ms))
        << rig.Story();
    const auto base = rig.agent().WrittenBytes();
    const auto state = CutWhen(
        rig,
        [&] {
          const auto now = rig.agent().WrittenBytes();
          return base && now && *now > *base && static_cast<double>(*now - *base) >= f * size;
        },
        "piping the image at " + std::to_string(static_cast<int>(f * 100)) + "%");
    if (state == "download") ++inside;
    EXPECT_EQ(rig.DownloadedBytes(), 0u) << "a piped object went to the download directory";
  }
  rig.device().ReleaseAll();
  ASSERT_TRUE(rig.Drive(std::nullopt, Outcome::kUpdated));
  rig.ExpectFinal(Outcome::kUpdated);
  EXPECT_GE(inside, 1) << "no cut landed while the image was piped into the slot";
  std::cout << "seed " << seed << "; " << inside << " of " << kCuts
            << " cuts landed while piping; object bytes the server sent: " << rig.ServedBytes()
            << " (object " << static_cast<std::uint64_t>(size) << " bytes uncompressed)\n";
}

}  // namespace
}  // namespace uh::agent::powercut
