#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using uh::testing::ReadFile;
using uh::testing::TempDir;
using uh::testing::WriteFile;

package::Object Copy(const std::string& target_path) {
  package::Object object;
  object.mode = package::Mode::kCopy;
  object.filename = "app.conf";
  object.size = 5;
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p3";
  object.target_path = target_path;
  object.filesystem = "ext4";
  return object;
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class InstallCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    partition_ = device_.AddDir("/dev/mmcblk0p3");
    std::filesystem::create_directories(partition_ / "etc");
    device_.ctx.object_file = testing::WriteObject(dir_.path(), "hello");
  }
  Expected<void> Install(const package::Object& object) {
    UH_TRY(installer_.CheckRequirements(object, device_.ctx));
    return installer_.Install(object, device_.ctx);
  }

  TempDir dir_;
  Device device_{dir_.path()};
  std::filesystem::path partition_;
  CopyInstaller installer_;
};

TEST_F(InstallCopyTest, IntoADirectoryTarget) {
  auto installed = Install(Copy("/etc/app.conf"));
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "etc/app.conf"), "hello");
  EXPECT_EQ(ModeOf(partition_ / "etc/app.conf"), 0644u);
  EXPECT_TRUE(device_.tools.Calls().empty());  // nothing mounted
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(partition_ / "etc"),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(InstallCopyTest, CompressedObjectIsDecompressed) {
  const auto data = uh::testing::RandomBytes(100000);
  device_.ctx.object_file =
      testing::WriteObject(dir_.path(), testing::Compress(data, testing::Filter::kZstd));
  auto object = Copy("/etc/app.conf");
  object.compressed = true;
  auto installed = Install(object);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "etc/app.conf"), data);
}

// Giving a file to another owner takes root (CAP_CHOWN): a new file already has the test
// process's own uid and gid, so only other ids show that the installer set them. CI runs the tests
// as root; elsewhere these tests are skipped, but never with CI=true, where they must run.
class InstallCopyOwnerTest : public InstallCopyTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      const char* ci = std::getenv("CI");
      const std::string why =
          "giving a file to another owner takes root, and this test runs as uid " +
          std::to_string(::geteuid());
      if (ci != nullptr && std::string_view(ci) == "true") {
        GTEST_FAIL() << why << ": CI runs the tests as root (CI=true)";
      }
      GTEST_SKIP() << why << ": ownership test skipped (run as root to check it)";
    }
    InstallCopyTest::SetUp();
  }

  // The owner and group of an installed file.
  static std::pair<uid_t, gid_t> OwnerOf(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return {st.st_uid, st.st_gid};
  }
};

TEST_F(InstallCopyOwnerTest, ModeAndOwnerByNumber) {
  constexpr uid_t kUid = 1234;
  constexpr gid_t kGid = 5678;
  auto object = Copy("/etc/app.conf");
  object.target_mode = "0600";
  object.target_uid = package::Owner(static_cast<std::int64_t>(kUid));
  object.target_gid = package::Owner(static_cast<std::int64_t>(kGid));
  auto installed = Install(object);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ModeOf(partition_ / "etc/app.conf"), 0600u);
  EXPECT_EQ(OwnerOf(partition_ / "etc/app.conf"), std::make_pair(kUid, kGid));
}

TEST_F(InstallCopyOwnerTest, OwnerByName) {
  // Names that minimal Debian has (Fedora calls the group "nobody"), with ids other than ours and
  // than each other (1 and 65534), so that a uid set as the gid (or the reverse) shows too.
  const passwd* user = ::getpwnam("daemon");
  ASSERT_NE(user, nullptr) << "no user 'daemon' here";
  std::string group_name = "nogroup";
  const group* grp = ::getgrnam(group_name.c_str());
  if (grp == nullptr) grp = ::getgrnam((group_name = "nobody").c_str());
  ASSERT_NE(grp, nullptr) << "no group 'nogroup' or 'nobody' here";
  const std::pair<uid_t, gid_t> expected{user->pw_uid, grp->gr_gid};
  ASSERT_NE(expected.first, ::geteuid());
  ASSERT_NE(expected.second, ::getegid());
  ASSERT_NE(expected.first, expected.second);
  auto object = Copy("/etc/app.conf");
  object.target_uid = package::Owner(std::string("daemon"));
  object.target_gid = package::Owner(group_name);
  auto installed = Install(object);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(OwnerOf(partition_ / "etc/app.conf"), expected);
}

// A file replaced without an owner in the object keeps the one it had.
TEST_F(InstallCopyOwnerTest, ReplacesAFileKeepingItsOwner) {
  WriteFile(partition_ / "etc/app.conf", "old content");
  ASSERT_EQ(::chown((partition_ / "etc/app.conf").c_str(), 1234, 5678), 0);
  auto installed = Install(Copy("/etc/app.conf"));
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "etc/app.conf"), "hello");
  EXPECT_EQ(OwnerOf(partition_ / "etc/app.conf"), std::make_pair(uid_t{1234}, gid_t{5678}));
}

TEST_F(InstallCopyTest, UnknownOwnerNameIsAnError) {
  auto object = Copy("/etc/app.conf");
  object.target_uid = package::Owner(std::string("no-such-user-xyz"));
  object.target_gid = package::Owner(std::string("no-such-group-xyz"));
  auto installed = Install(object);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("no-such-user-xyz"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(partition_ / "etc/app.conf"));
}

TEST_F(InstallCopyTest, ReplacesAFileKeepingItsMode) {
  WriteFile(partition_ / "etc/app.conf", "old content, longer");
  std::filesystem::permissions(partition_ / "etc/app.conf",
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write |
                                   std::filesystem::perms::group_read);
  auto installed = Install(Copy("/etc/app.conf"));
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "etc/app.conf"), "hello");
  EXPECT_EQ(ModeOf(partition_ / "etc/app.conf"), 0640u);
}

TEST_F(InstallCopyTest, MissingDirectoryIsAnError) {
  auto installed = Install(Copy("/opt/app/app.conf"));
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("/opt/app/app.conf"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(partition_ / "opt"));
}

TEST_F(InstallCopyTest, TargetPathEscapingIsRefused) {
  auto installed = Install(Copy("/../../outside.conf"));
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "outside.conf"));
}

TEST_F(InstallCopyTest, SymlinksResolveInsideTheTarget) {
  // An absolute link means the target's own /etc; a climbing one stops at the target's root.
  std::filesystem::create_symlink("/etc", partition_ / "conf");
  std::filesystem::create_symlink("../../../..", partition_ / "up");
  const std::pair<const char*, std::filesystem::path> cases[] = {
      {"/conf/app.conf", partition_ / "etc/app.conf"}, {"/up/app.conf", partition_ / "app.conf"}};
  for (const auto& [target_path, lands_at] : cases) {
    auto installed = installer_.Install(Copy(target_path), device_.ctx);
    if (installed) {
      EXPECT_EQ(ReadFile(lands_at), "hello") << target_path;
    } else {
      // Kernels without openat2 refuse symlinks instead.
      EXPECT_NE(installed.error().message().find("symlink"), std::string::npos)
          << installed.error().message();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "app.conf"));
  EXPECT_FALSE(std::filesystem::exists(device_.root / "app.conf"));
}

TEST_F(InstallCopyTest, DeviceTargetIsMountedAndUnmounted) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  const auto fs = dir_.path() / "fs";
  std::filesystem::create_directories(fs / "etc");
  device_.tools.AddMountEmulation(fs);
  auto object = Copy("/etc/app.conf");
  object.mount_options = "noatime,sync";
  auto installed = Install(object);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(fs / "etc/app.conf"), "hello");
  const auto calls = device_.tools.Calls();
  ASSERT_EQ(calls.size(), 2u);
  const std::string mount_prefix = "mount -t ext4 -o noatime,sync " +
                                   (device_.root / "dev/mmcblk0p3").string() + " " +
                                   (device_.ctx.work_dir / "mnt-").string();
  EXPECT_EQ(calls[0].substr(0, mount_prefix.size()), mount_prefix);
  const auto mount_point = calls[0].substr(calls[0].rfind(' ') + 1);
  EXPECT_EQ(calls[1], "umount " + mount_point);
  EXPECT_FALSE(std::filesystem::exists(mount_point));
}

TEST_F(InstallCopyTest, FormatBeforeMounting) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  const auto fs = dir_.path() / "fs";
  std::filesystem::create_directories(fs);
  device_.tools.AddMountEmulation(fs);
  device_.tools.Add("mkfs.ext4");
  auto object = Copy("/app.conf");
  object.format = true;
  object.format_options = "-L 'data part' -q";
  auto installed = Install(object);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto calls = device_.tools.Calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], "mkfs.ext4 -F -L data part -q " + (device_.root / "dev/mmcblk0p3").string());
  EXPECT_EQ(calls[1].substr(0, 14), "mount -t ext4 ");
  EXPECT_EQ(calls[2].substr(0, 7), "umount ");
  EXPECT_EQ(ReadFile(fs / "app.conf"), "hello");
}

TEST_F(InstallCopyTest, UnmountsAfterAnError) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  const auto fs = dir_.path() / "fs";
  std::filesystem::create_directories(fs);
  device_.tools.AddMountEmulation(fs);
  auto installed = Install(Copy("/missing/app.conf"));
  ASSERT_FALSE(installed);
  const auto calls = device_.tools.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].substr(0, 7), "umount ");
}

TEST_F(InstallCopyTest, MountFailureReportsTheTool) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  device_.tools.Add("mount", "echo 'mount: wrong fs type, bad option' >&2", 32);
  device_.tools.Add("umount");
  auto installed = Install(Copy("/app.conf"));
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find(
                "mount exited with status 32: mount: wrong fs type, bad option"),
            std::string::npos)
      << installed.error().message();
  EXPECT_EQ(device_.tools.Calls().size(), 1u);  // no umount of what was never mounted
  EXPECT_TRUE(std::filesystem::is_empty(device_.ctx.work_dir));
}

TEST_F(InstallCopyTest, DeviceTargetNeedsMountOnPath) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  auto checked = installer_.CheckRequirements(Copy("/app.conf"), device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNotFound);
  EXPECT_NE(checked.error().message().find("'mount' not found"), std::string::npos);
}

}  // namespace
}  // namespace uh::agent
