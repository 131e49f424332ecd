#include "agent/install/mountinfo.hpp"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "support/test_support.hpp"

namespace uh::agent {
namespace {

std::vector<MountEntry> Fixture() {
  return ParseMountInfo(uh::testing::ReadFile(std::string(UH_INSTALL_FIXTURES) + "/mountinfo"));
}

TEST(InstallMountInfo, ParsesEntriesAndSkipsMalformedLines) {
  const auto mounts = Fixture();
  ASSERT_EQ(mounts.size(), 6u);
  EXPECT_EQ(mounts[2].mount_point, "/");
  EXPECT_EQ(mounts[2].source, "/dev/mmcblk0p2");
  EXPECT_EQ(mounts[2].fs_type, "ext4");
  EXPECT_EQ(mounts[2].major, 179u);
  EXPECT_EQ(mounts[2].minor, 2u);
  // Optional fields (shared:, master:) before the separator do not shift the rest.
  EXPECT_EQ(mounts[3].mount_point, "/data");
  EXPECT_EQ(mounts[3].source, "/dev/mmcblk0p3");
}

TEST(InstallMountInfo, DecodesOctalEscapes) {
  const auto mounts = Fixture();
  EXPECT_EQ(mounts[4].mount_point, "/boot files");
}

TEST(InstallMountInfo, FindsByDeviceOrByDeviceNumber) {
  const auto mounts = Fixture();
  auto by_source = FindMount(mounts, "/dev/mmcblk0p3", std::nullopt);
  ASSERT_TRUE(by_source);
  EXPECT_EQ(by_source->mount_point, "/data");
  auto by_number = FindMount(mounts, "/dev/disk/by-label/boot", ::makedev(179, 1));
  ASSERT_TRUE(by_number);
  EXPECT_EQ(by_number->mount_point, "/boot files");
  EXPECT_FALSE(FindMount(mounts, "/dev/mmcblk0p5", ::makedev(179, 5)));
}

TEST(InstallMountInfo, GarbageNeverCrashes) {
  for (const std::string& text :
       {std::string(), std::string("\n\n\n"), std::string("1 2 x:y / / rw - a b c"),
        std::string("1 2 3:4 / /\\ rw - ext4 /dev/x rw"), std::string("1 2 3:4 / /a rw -"),
        std::string(300, '\\'), std::string("1 2 99999999999:1 / / rw - e /d o")}) {
    (void)ParseMountInfo(text);
  }
  const auto mounts = ParseMountInfo("1 2 3:4 / /\\1 rw - ext4 /dev/x\\04 rw\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/\\1");
  EXPECT_EQ(mounts[0].source, "/dev/x\\04");
}

}  // namespace
}  // namespace uh::agent
