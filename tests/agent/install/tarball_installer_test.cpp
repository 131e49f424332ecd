#include <archive.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using testing::TarEntry;
using uh::testing::ReadFile;
using uh::testing::TempDir;

using Type = TarEntry::Type;

package::Object Tarball(const std::string& target_path) {
  package::Object object;
  object.mode = package::Mode::kTarball;
  object.filename = "data.tar";
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p3";
  object.target_path = target_path;
  object.filesystem = "ext4";
  return object;
}

class InstallTarballTest : public ::testing::Test {
 protected:
  void SetUp() override { partition_ = device_.AddDir("/dev/mmcblk0p3"); }

  Expected<void> InstallTar(const std::vector<TarEntry>& entries,
                            const std::string& target_path = "/data") {
    device_.ctx.object_file = testing::WriteObject(dir_.path(), testing::MakeTar(entries));
    const auto object = Tarball(target_path);
    UH_TRY(installer_.CheckRequirements(object, device_.ctx));
    return installer_.Install(object, device_.ctx);
  }

  // Nothing was written outside the partition.
  void ExpectOutsideUntouched() {
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "x"));
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "abs"));
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "evil"));
    EXPECT_EQ(ReadFile(dir_.path() / "secret"), "secret");
  }

  TempDir dir_;
  Device device_{dir_.path()};
  std::filesystem::path partition_;
  TarballInstaller installer_;
};

TEST_F(InstallTarballTest, TestPackageTarball) {
  auto data = testing::LoadTestObject("signed.uhupkg", "data.tar.gz", dir_.path());
  EXPECT_EQ(*data.object.target_path, "/data");
  device_.ctx.object_file = data.file;
  ASSERT_TRUE(installer_.CheckRequirements(data.object, device_.ctx));
  auto installed = installer_.Install(data.object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "data/etc/motd"), uh::testing::kTestMotd);
  EXPECT_EQ(ReadFile(partition_ / "data/usr/bin/app"), uh::testing::kTestApp);
  struct stat st {};
  ASSERT_EQ(::stat((partition_ / "data/usr/bin/app").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

// The tarball of upstream's own package (gzip and tar as uhu's users make them).
TEST_F(InstallTarballTest, UpstreamTarball) {
  UH_UPSTREAM_PACKAGES(upstream);
  auto data = testing::LoadPackageObject(upstream / "signed.uhupkg", "data.tar.gz", dir_.path());
  device_.ctx.object_file = data.file;
  ASSERT_TRUE(installer_.CheckRequirements(data.object, device_.ctx));
  auto installed = installer_.Install(data.object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "data/etc/motd"), "hello from uhu\n");
  EXPECT_EQ(ReadFile(partition_ / "data/usr/bin/app"), "#!/bin/sh\necho app\n");
}

TEST_F(InstallTarballTest, LinksInsideTheArchiveWork) {
  auto installed = InstallTar({{Type::kDir, "lib", "", 0755},
                               {Type::kFile, "lib/a.so", "code", 0644},
                               {Type::kSymlink, "lib/b.so", "a.so", 0777},
                               {Type::kSymlink, "usrlib", "/usr/lib", 0777},
                               {Type::kHardlink, "lib/c.so", "lib/a.so", 0644}},
                              "/");
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition_ / "lib/b.so"), "code");
  EXPECT_EQ(ReadFile(partition_ / "lib/c.so"), "code");
  EXPECT_EQ(std::filesystem::read_symlink(partition_ / "usrlib"), "/usr/lib");
}

TEST_F(InstallTarballTest, DotDotEntryIsRefused) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  auto installed = InstallTar({{Type::kFile, "ok", "fine"}, {Type::kFile, "../../../../x", "bad"}});
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("entry '../../../../x'"), std::string::npos)
      << installed.error().message();
  EXPECT_NE(installed.error().message().find(".."), std::string::npos);
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, AbsoluteEntryIsRefused) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  const auto absolute = (dir_.path() / "abs").string();
  auto installed = InstallTar({{Type::kFile, absolute, "bad"}});
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("entry '" + absolute + "': absolute path"),
            std::string::npos)
      << installed.error().message();
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, FileThroughASymlinkIsRefused) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  auto installed = InstallTar(
      {{Type::kSymlink, "evil", dir_.path().string(), 0777}, {Type::kFile, "evil/x", "bad"}});
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("entry 'evil/x'"), std::string::npos)
      << installed.error().message();
  EXPECT_NE(installed.error().message().find("symlink"), std::string::npos);
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, FileOverASymlinkReplacesTheLink) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  auto installed = InstallTar({{Type::kSymlink, "evil", (dir_.path() / "secret").string(), 0777},
                               {Type::kFile, "evil", "bad"}});
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_FALSE(std::filesystem::is_symlink(partition_ / "data/evil"));
  EXPECT_EQ(ReadFile(partition_ / "data/evil"), "bad");
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, SymlinkAlreadyOnTheTargetIsNotFollowed) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  std::filesystem::create_directories(partition_ / "data");
  std::filesystem::create_symlink(dir_.path(), partition_ / "data/evil");
  auto installed = InstallTar({{Type::kFile, "evil/x", "bad"}});
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("entry 'evil/x'"), std::string::npos);
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, HardLinkEscapesAreRefused) {
  uh::testing::WriteFile(dir_.path() / "secret", "secret");
  for (const auto& link : {std::string("../../../../secret"), (dir_.path() / "secret").string()}) {
    auto installed = InstallTar({{Type::kHardlink, "copy", link}});
    ASSERT_FALSE(installed) << link;
    EXPECT_NE(installed.error().message().find("entry 'copy': hard link"), std::string::npos)
        << installed.error().message();
    EXPECT_FALSE(std::filesystem::exists(partition_ / "data/copy"));
  }
  // Through a symlink extracted just before.
  auto installed = InstallTar({{Type::kSymlink, "evil", dir_.path().string(), 0777},
                               {Type::kHardlink, "copy", "evil/secret"}});
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("entry 'copy': hard link"), std::string::npos)
      << installed.error().message();
  EXPECT_FALSE(std::filesystem::exists(partition_ / "data/copy"));
  ExpectOutsideUntouched();
}

TEST_F(InstallTarballTest, TargetPathEscapingIsRefused) {
  auto installed = InstallTar({{Type::kFile, "x", "bad"}}, "/../../..");
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "x"));
}

TEST_F(InstallTarballTest, CorruptArchiveIsAnError) {
  auto tar =
      testing::MakeTar({{Type::kFile, "a", uh::testing::RandomBytes(100000)}}, /*gzip=*/true);
  tar.resize(tar.size() / 2);
  device_.ctx.object_file = testing::WriteObject(dir_.path(), tar);
  auto installed = installer_.Install(Tarball("/"), device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kMalformed);
  EXPECT_NE(installed.error().message().find("truncated"), std::string::npos)
      << installed.error().message();
}

// The formats a root file system comes in, besides tar: cpio (compressed too), zip and 7-Zip.
TEST_F(InstallTarballTest, CpioZipAnd7ZipArchivesAreExtracted) {
  const std::vector<TarEntry> entries = {{Type::kDir, "etc", "", 0755},
                                         {Type::kFile, "etc/motd", "hello\n", 0644}};
  for (const auto& [format, gzip] :
       {std::pair{ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, true}, std::pair{ARCHIVE_FORMAT_ZIP, false},
        std::pair{ARCHIVE_FORMAT_7ZIP, false}}) {
    std::filesystem::remove_all(partition_);
    std::filesystem::create_directories(partition_);
    device_.ctx.object_file =
        testing::WriteObject(dir_.path(), testing::MakeTar(entries, gzip, format));
    auto installed = installer_.Install(Tarball("/"), device_.ctx);
    ASSERT_TRUE(installed) << format << ": " << installed.error().message();
    EXPECT_EQ(ReadFile(partition_ / "etc/motd"), "hello\n") << format;
  }
}

// Archive formats outside the chosen list (here WARC, which libarchive reads) are refused, not
// guessed at.
TEST_F(InstallTarballTest, OtherArchiveFormatsAreRefused) {
  device_.ctx.object_file = testing::WriteObject(
      dir_.path(), testing::MakeTar({{Type::kFile, "motd", "hello"}}, false, ARCHIVE_FORMAT_WARC));
  auto installed = installer_.Install(Tarball("/"), device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kMalformed);
  EXPECT_NE(installed.error().message().find("Unrecognized archive format"), std::string::npos)
      << installed.error().message();
  EXPECT_FALSE(std::filesystem::exists(partition_ / "motd"));
}

TEST_F(InstallTarballTest, DeviceTargetIsMountedAndUnmounted) {
  std::filesystem::remove_all(partition_);
  device_.AddFile("/dev/mmcblk0p3", "");
  const auto fs = dir_.path() / "fs";
  std::filesystem::create_directories(fs);
  device_.tools.AddMountEmulation(fs);
  auto installed = InstallTar({{Type::kFile, "etc/motd", "hi"}});
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(fs / "data/etc/motd"), "hi");
  const auto calls = device_.tools.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].substr(0, 14), "mount -t ext4 ");
  EXPECT_EQ(calls[1].substr(0, 7), "umount ");
}

}  // namespace
}  // namespace uh::agent
