#include "agent/device/bootloader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "device_test_util.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using test::WriteScript;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SlotCommandsTest : public ::testing::Test {
 protected:
  [[nodiscard]] SlotCommands Commands() const {
    SlotCommandsOptions options;
    options.dir = dir_.path();
    options.timeout = std::chrono::seconds(5);
    return SlotCommands(options);
  }
  void WriteGet(std::string_view body) { WriteScript(dir_ / "updatehub-active-get", body); }

  uh::testing::TempDir dir_;
};

TEST_F(SlotCommandsTest, ActiveSlotReadsZeroOrOne) {
  auto commands = Commands();
  WriteGet("echo 0\n");
  EXPECT_EQ(commands.ActiveSlot(), 0);
  WriteGet("printf ' 1 \\n'\n");
  EXPECT_EQ(commands.ActiveSlot(), 1);
  EXPECT_EQ(InactiveSlot(commands), 0);
}

TEST_F(SlotCommandsTest, ActiveSlotPrintingGarbageIsAnError) {
  auto commands = Commands();
  for (const char* output : {"2", "", "a", "01", "0 1", "yes, slot 1"}) {
    WriteGet("echo '" + std::string(output) + "'\n");
    auto slot = commands.ActiveSlot();
    ASSERT_FALSE(slot) << output;
    EXPECT_EQ(slot.error().code(), Errc::kMalformed) << output;
    EXPECT_THAT(slot.error().message(), HasSubstr("expected the active slot, 0 or 1")) << output;
  }
  WriteGet("head -c 100000 /dev/zero\n");
  auto flood = commands.ActiveSlot();
  ASSERT_FALSE(flood);
  EXPECT_EQ(flood.error().code(), Errc::kTooLarge);
}

TEST_F(SlotCommandsTest, FailingOrMissingCommandIsAnError) {
  auto commands = Commands();
  auto missing = commands.ActiveSlot();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("updatehub-active-get"));

  WriteGet("echo 'fw_printenv: cannot open /dev/mtd1' >&2\nexit 1\n");
  auto failed = commands.ActiveSlot();
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message(),
              HasSubstr("exited with status 1: fw_printenv: cannot open /dev/mtd1"));
}

TEST_F(SlotCommandsTest, SetAndValidatedRunTheirCommands) {
  auto commands = Commands();
  WriteScript(dir_ / "updatehub-active-set", "echo \"set $*\" >> \"$(dirname \"$0\")/log\"\n");
  WriteScript(dir_ / "updatehub-active-validated",
              "echo \"validated $#\" >> \"$(dirname \"$0\")/log\"\n");
  ASSERT_TRUE(commands.SetActiveSlot(1));
  ASSERT_TRUE(commands.MarkValidated());
  EXPECT_EQ(uh::testing::ReadFile(dir_ / "log"), "set 1\nvalidated 0\n");

  auto bad = commands.SetActiveSlot(2);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(uh::testing::ReadFile(dir_ / "log"), "set 1\nvalidated 0\n");

  WriteScript(dir_ / "updatehub-active-validated", "exit 1\n");
  EXPECT_FALSE(commands.MarkValidated());
}

TEST_F(SlotCommandsTest, FindsCommandsOnPathByDefault) {
  WriteGet("echo 1\n");
  const char* old = std::getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("PATH", test::PathWith(dir_.path()).c_str(), 1);
  SlotCommands commands;
  auto slot = commands.ActiveSlot();
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(slot) << slot.error().message();
  EXPECT_EQ(*slot, 1);
}

TEST_F(SlotCommandsTest, DrivesTheShippedFileBackend) {
  SlotCommandsOptions options;
  options.dir = fs::path(UH_DIST_AB_DIR) / "file";
  options.env = {{"UPDATEHUB_AB_ENV", (dir_ / "ab.env").string()}};
  SlotCommands commands(options);
  EXPECT_EQ(commands.ActiveSlot(), 0);
  ASSERT_TRUE(commands.SetActiveSlot(1));
  EXPECT_EQ(commands.ActiveSlot(), 1);
  ASSERT_TRUE(commands.MarkValidated());
  EXPECT_EQ(uh::testing::ReadFile(dir_ / "ab.env"),
            "updatehub_active=1\nupgrade_available=0\nbootcount=0\n");
}

TEST(MemoryBootloaderTest, FallsBackAfterTwoUnconfirmedBootsLikeUBoot) {
  MemoryBootloader bootloader(0);
  ASSERT_TRUE(bootloader.SetActiveSlot(1));
  EXPECT_TRUE(bootloader.upgrade_available());
  bootloader.SimulateBoot();
  EXPECT_EQ(bootloader.ActiveSlot(), 1);
  EXPECT_EQ(bootloader.bootcount(), 1);
  bootloader.SimulateBoot();
  EXPECT_EQ(bootloader.ActiveSlot(), 0);
}

TEST(MemoryBootloaderTest, ValidatedEndsTheTrial) {
  MemoryBootloader bootloader(0);
  ASSERT_TRUE(bootloader.SetActiveSlot(1));
  bootloader.SimulateBoot();
  ASSERT_TRUE(bootloader.MarkValidated());
  bootloader.SimulateBoot();
  bootloader.SimulateBoot();
  EXPECT_EQ(bootloader.ActiveSlot(), 1);
  EXPECT_FALSE(bootloader.upgrade_available());
  EXPECT_EQ(bootloader.bootcount(), 0);
}

TEST(MemoryBootloaderTest, InjectedFailureHitsOneCall) {
  MemoryBootloader bootloader(1);
  bootloader.FailNextCall(Error(Errc::kIo, "fw_setenv: flash is read-only"));
  auto failed = bootloader.SetActiveSlot(0);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message(), "fw_setenv: flash is read-only");
  EXPECT_EQ(bootloader.ActiveSlot(), 1);
  EXPECT_FALSE(bootloader.SetActiveSlot(5));
}

}  // namespace
}  // namespace uh::agent
