#include "agent/install/target.hpp"

#include <gtest/gtest.h>

#include "agent/install/install_test_support.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using uh::testing::TempDir;

package::Object RawObject(const std::string& target) {
  package::Object object;
  object.mode = package::Mode::kRaw;
  object.filename = "rootfs.img";
  object.target_type = package::TargetType::kDevice;
  object.target = target;
  return object;
}

TEST(InstallRootedPath, PrefixesTheRoot) {
  InstallContext ctx;
  ctx.target_root = "/sim";
  EXPECT_EQ(*RootedPath(ctx, "/dev/mmcblk0p2"), "/sim/dev/mmcblk0p2");
  EXPECT_EQ(*RootedPath(ctx, "dev/sda"), "/sim/dev/sda");
  EXPECT_EQ(*RootedPath(ctx, "/dev/../dev/./sda/"), "/sim/dev/sda");
  EXPECT_EQ(*RootedPath(ctx, "/"), "/sim");
  ctx.target_root = "/";
  EXPECT_EQ(*RootedPath(ctx, "/dev/sda"), "/dev/sda");
}

TEST(InstallRootedPath, RefusesEscapes) {
  InstallContext ctx;
  ctx.target_root = "/sim";
  for (const std::string& path :
       {std::string("/../etc/passwd"), std::string("/dev/../../etc"), std::string(".."),
        std::string(""), std::string("/dev/sda\0x", 10)}) {
    auto rooted = RootedPath(ctx, path);
    ASSERT_FALSE(rooted) << path;
    EXPECT_EQ(rooted.error().code(), Errc::kInvalidArgument);
  }
}

TEST(InstallConfinedRelative, MakesRelative) {
  EXPECT_EQ(*ConfinedRelative("/data/app.conf"), "data/app.conf");
  EXPECT_EQ(*ConfinedRelative("/"), "");
  EXPECT_EQ(*ConfinedRelative("/data/"), "data");
  EXPECT_FALSE(ConfinedRelative("/data/../../x"));
}

TEST(InstallResolveTarget, DeviceUnderTheRoot) {
  TempDir dir;
  Device device(dir.path());
  auto target = ResolveTarget(RawObject("/dev/mmcblk0p2"), device.ctx);
  ASSERT_TRUE(target) << target.error().message();
  EXPECT_EQ(target->device, "/dev/mmcblk0p2");
  EXPECT_EQ(target->path, device.root / "dev/mmcblk0p2");
}

TEST(InstallResolveTarget, TargetEscapingTheRootIsRefused) {
  TempDir dir;
  Device device(dir.path());
  auto target = ResolveTarget(RawObject("/dev/../../../etc/passwd"), device.ctx);
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(target.error().message().find("escapes"), std::string::npos);
}

TEST(InstallCheckTargetFree, MissingTarget) {
  TempDir dir;
  Device device(dir.path());
  auto target = ResolveTarget(RawObject("/dev/mmcblk0p9"), device.ctx);
  ASSERT_TRUE(target);
  auto free = CheckTargetFree(*target, device.ctx, false);
  ASSERT_FALSE(free);
  EXPECT_EQ(free.error().code(), Errc::kNotFound);
  EXPECT_NE(free.error().message().find("/dev/mmcblk0p9 does not exist"), std::string::npos);
}

TEST(InstallCheckTargetFree, MountedTargetIsRefused) {
  TempDir dir;
  Device device(dir.path());
  device.AddFile("/dev/mmcblk0p3", "");
  device.AddFile("/dev/mmcblk0p5", "");
  device.AddFile("/proc/self/mountinfo",
                 uh::testing::ReadFile(std::string(UH_INSTALL_FIXTURES) + "/mountinfo"));
  auto mounted = ResolveTarget(RawObject("/dev/mmcblk0p3"), device.ctx);
  ASSERT_TRUE(mounted);
  auto free = CheckTargetFree(*mounted, device.ctx, false);
  ASSERT_FALSE(free);
  EXPECT_NE(free.error().message().find("/dev/mmcblk0p3 is mounted on /data"), std::string::npos);
  auto unmounted = ResolveTarget(RawObject("/dev/mmcblk0p5"), device.ctx);
  ASSERT_TRUE(unmounted);
  EXPECT_TRUE(CheckTargetFree(*unmounted, device.ctx, false));
}

TEST(InstallCheckTargetFree, DirectoryOnlyWhenAllowed) {
  TempDir dir;
  Device device(dir.path());
  device.AddDir("/dev/mmcblk0p3");
  auto target = ResolveTarget(RawObject("/dev/mmcblk0p3"), device.ctx);
  ASSERT_TRUE(target);
  EXPECT_FALSE(CheckTargetFree(*target, device.ctx, false));
  EXPECT_TRUE(CheckTargetFree(*target, device.ctx, true));
}

TEST(InstallCheckCancelled, StopsWhenAsked) {
  InstallContext ctx;
  EXPECT_TRUE(CheckCancelled(ctx));
  ctx.cancelled = [] { return true; };
  auto cancelled = CheckCancelled(ctx);
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code(), Errc::kCancelled);
}

}  // namespace
}  // namespace uh::agent
