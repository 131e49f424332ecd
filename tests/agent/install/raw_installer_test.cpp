#include <gtest/gtest.h>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"
#include "core/hash.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using testing::Filter;
using uh::testing::RandomBytes;
using uh::testing::ReadFile;
using uh::testing::TempDir;

package::Object Raw(std::uint64_t size, std::uint64_t chunk, std::uint64_t skip, std::uint64_t seek,
                    std::int64_t count, bool truncate) {
  package::Object object;
  object.mode = package::Mode::kRaw;
  object.filename = "image.bin";
  object.size = size;
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p2";
  object.chunk_size = chunk;
  object.skip = skip;
  object.seek = seek;
  object.count = count;
  object.truncate = truncate;
  return object;
}

class InstallRawTest : public ::testing::Test {
 protected:
  // Installs `data` as the object into a target pre-filled with `before`, returns the target.
  Expected<std::string> Run(const package::Object& object, std::string_view data,
                            const std::string& before) {
    device_.AddFile("/dev/mmcblk0p2", before);
    device_.ctx.object_file = testing::WriteObject(dir_.path(), data);
    UH_TRY(installer_.CheckRequirements(object, device_.ctx));
    UH_TRY(installer_.Install(object, device_.ctx));
    return ReadFile(device_.root / "dev/mmcblk0p2");
  }

  TempDir dir_;
  Device device_{dir_.path()};
  RawInstaller installer_;
};

TEST_F(InstallRawTest, TestPackageRootfsImage) {
  auto rootfs = testing::LoadTestObject("signed.uhupkg", "rootfs.img", dir_.path());
  const std::string before(2 * 1024 * 1024, '\xff');
  device_.AddFile("/dev/mmcblk0p2", before);
  device_.ctx.object_file = rootfs.file;
  ASSERT_TRUE(installer_.CheckRequirements(rootfs.object, device_.ctx));
  auto installed = installer_.Install(rootfs.object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto after = ReadFile(device_.root / "dev/mmcblk0p2");
  const auto image = ReadFile(rootfs.file);
  ASSERT_EQ(after.size(), before.size());  // truncate: false
  EXPECT_TRUE(after.compare(0, image.size(), image) == 0);
  EXPECT_EQ(after.substr(image.size()), before.substr(image.size()));
}

TEST_F(InstallRawTest, TestPackageCompressedXzWithTruncate) {
  auto boot = testing::LoadTestObject("compressed.uhupkg", "boot.img.xz", dir_.path());
  ASSERT_TRUE(boot.object.IsCompressed());
  device_.AddFile("/dev/mmcblk0p1", std::string(100000, 'j'));
  device_.ctx.object_file = boot.file;
  ASSERT_TRUE(installer_.CheckRequirements(boot.object, device_.ctx));
  auto installed = installer_.Install(boot.object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto expected = testing::Decompress(ReadFile(boot.file));
  ASSERT_EQ(expected.size(), *boot.object.required_uncompressed_size);
  EXPECT_EQ(ReadFile(device_.root / "dev/mmcblk0p1"), expected);  // truncated to the image
}

TEST_F(InstallRawTest, TestPackageCompressedGzipWithChunkSizeAndSeek) {
  for (std::size_t set : {0u, 1u}) {
    auto kernel = testing::LoadTestObject("compressed.uhupkg", "kernel.img.gz", dir_.path(), set);
    const std::string device = set == 0 ? "/dev/mmcblk0p5" : "/dev/mmcblk0p6";
    ASSERT_EQ(*kernel.object.target, device);
    const std::string before(400000, '\xee');
    device_.AddFile(device, before);
    device_.ctx.object_file = kernel.file;
    ASSERT_TRUE(installer_.CheckRequirements(kernel.object, device_.ctx));
    auto installed = installer_.Install(kernel.object, device_.ctx);
    ASSERT_TRUE(installed) << installed.error().message();
    const auto expected = testing::Decompress(ReadFile(kernel.file));
    const auto after = ReadFile(device_.root / device.substr(1));
    const std::size_t offset = 2 * 4096;  // seek 2, chunk-size 4096
    ASSERT_EQ(after.size(), before.size());
    EXPECT_EQ(after.substr(0, offset), before.substr(0, offset));
    EXPECT_EQ(after.substr(offset, expected.size()), expected);
    EXPECT_EQ(after.substr(offset + expected.size()), before.substr(offset + expected.size()));
  }
}

// The xz and gzip objects of upstream's own package decompress into their targets.
TEST_F(InstallRawTest, UpstreamCompressedObjects) {
  UH_UPSTREAM_PACKAGES(upstream);
  for (const char* name : {"boot.img.xz", "kernel.img.gz"}) {
    auto object = testing::LoadPackageObject(upstream / "compressed.uhupkg", name, dir_.path());
    ASSERT_TRUE(object.object.IsCompressed()) << name;
    const std::string device = *object.object.target;
    device_.AddFile(device, std::string(400000, '\x5a'));
    device_.ctx.object_file = object.file;
    ASSERT_TRUE(installer_.CheckRequirements(object.object, device_.ctx)) << name;
    auto installed = installer_.Install(object.object, device_.ctx);
    ASSERT_TRUE(installed) << name << ": " << installed.error().message();
    const auto expected = testing::Decompress(ReadFile(object.file));
    ASSERT_EQ(expected.size(), *object.object.required_uncompressed_size) << name;
    const std::size_t offset = object.object.Seek() * object.object.ChunkSize();
    const auto after = ReadFile(device_.root / device.substr(1));
    EXPECT_EQ(after.substr(offset, expected.size()), expected) << name;
  }
}

TEST_F(InstallRawTest, Skip) {
  const auto data = RandomBytes(2048);
  const std::string before(2048, '\x0f');
  auto after = Run(Raw(2048, 128, 8, 0, -1, false), data, before);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->substr(0, 1024), data.substr(1024));
  EXPECT_EQ(after->substr(1024), before.substr(1024));
}

TEST_F(InstallRawTest, Seek) {
  const auto data = RandomBytes(2048);
  const std::string before(2048, '\x0f');
  auto after = Run(Raw(2048, 128, 0, 8, -1, false), data, before);
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_EQ(after->size(), 1024u + 2048u);
  EXPECT_EQ(after->substr(0, 1024), before.substr(0, 1024));
  EXPECT_EQ(after->substr(1024), data);
}

TEST_F(InstallRawTest, Count) {
  const auto data = RandomBytes(2048);
  const std::string before(2048, '\x0f');
  auto after = Run(Raw(2048, 128, 0, 0, 8, false), data, before);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->substr(0, 1024), data.substr(0, 1024));
  EXPECT_EQ(after->substr(1024), before.substr(1024));
}

TEST_F(InstallRawTest, ChunkSizeSkipSeekCountTogether) {
  const auto data = RandomBytes(1000, 7);
  const std::string before(1000, '\x01');
  auto after = Run(Raw(1000, 100, 3, 5, 4, false), data, before);
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_EQ(after->size(), 1000u);
  EXPECT_EQ(after->substr(0, 500), before.substr(0, 500));
  EXPECT_EQ(after->substr(500, 400), data.substr(300, 400));
  EXPECT_EQ(after->substr(900), before.substr(900));
}

TEST_F(InstallRawTest, CountZeroWritesNothing) {
  const std::string before(512, 'b');
  auto after = Run(Raw(100, 64, 0, 0, 0, false), RandomBytes(100), before);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(*after, before);
}

TEST_F(InstallRawTest, SkipPastTheEndWritesNothing) {
  const std::string before(512, 'b');
  auto after = Run(Raw(100, 64, 4, 0, -1, false), RandomBytes(100), before);
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(*after, before);
}

TEST_F(InstallRawTest, TruncateCutsARegularFileTarget) {
  const auto data = RandomBytes(700);
  auto after = Run(Raw(700, 512, 0, 1, -1, true), data, std::string(4096, 'x'));
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_EQ(after->size(), 512u + 700u);
  EXPECT_EQ(after->substr(0, 512), std::string(512, '\0'));
  EXPECT_EQ(after->substr(512), data);
}

TEST_F(InstallRawTest, EveryCompressionFormat) {
  const auto data = RandomBytes(300 * 1024, 3) + std::string(200 * 1024, 'z');
  for (const auto filter :
       {Filter::kGzip, Filter::kXz, Filter::kZstd, Filter::kLzma, Filter::kBzip2}) {
    const auto compressed = testing::Compress(data, filter);
    auto object = Raw(compressed.size(), 1024, 1, 2, -1, false);
    object.compressed = true;
    object.required_uncompressed_size = data.size();
    const std::string before(600 * 1024, '\x55');
    auto after = Run(object, compressed, before);
    ASSERT_TRUE(after) << static_cast<int>(filter) << ": " << after.error().message();
    EXPECT_EQ(after->substr(0, 2048), before.substr(0, 2048)) << static_cast<int>(filter);
    EXPECT_EQ(after->substr(2048, data.size() - 1024), data.substr(1024))
        << static_cast<int>(filter);
  }
}

TEST_F(InstallRawTest, CorruptCompressedObjectIsAnError) {
  const auto data = RandomBytes(256 * 1024, 5);
  auto gzip = testing::Compress(data, Filter::kGzip);
  for (std::size_t i = gzip.size() / 2; i < gzip.size() / 2 + 64; ++i) gzip[i] ^= 0x5a;
  auto xz = testing::Compress(data, Filter::kXz);
  xz.resize(xz.size() / 2);
  for (const auto& corrupt : {gzip, xz}) {
    auto object = Raw(corrupt.size(), 4096, 0, 0, -1, false);
    object.compressed = true;
    auto after = Run(object, corrupt, std::string(1024, 'a'));
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code(), Errc::kMalformed);
    EXPECT_NE(after.error().message().find("decompressing"), std::string::npos)
        << after.error().message();
  }
}

// lz4 is not among the object compressions (gzip, bzip2, xz, lzma, zstd, lzop): refused.
TEST_F(InstallRawTest, CompressionOutsideTheListIsAnError) {
  const auto lz4 = testing::Compress(RandomBytes(64 * 1024, 9), Filter::kLz4);
  auto object = Raw(lz4.size(), 4096, 0, 0, -1, false);
  object.compressed = true;
  auto after = Run(object, lz4, std::string(16, 'a'));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::kMalformed);
  EXPECT_NE(after.error().message().find("no known compression"), std::string::npos)
      << after.error().message();
  EXPECT_EQ(ReadFile(device_.root / "dev/mmcblk0p2"), std::string(16, 'a'));
}

TEST_F(InstallRawTest, CompressedFlagOnPlainDataIsAnError) {
  auto object = Raw(4096, 4096, 0, 0, -1, false);
  object.compressed = true;
  auto after = Run(object, std::string(4096, 'p'), std::string(16, 'a'));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::kMalformed);
  EXPECT_NE(after.error().message().find("no known compression"), std::string::npos);
}

TEST_F(InstallRawTest, MissingTargetIsNotCreated) {
  device_.ctx.object_file = testing::WriteObject(dir_.path(), "data");
  const auto object = Raw(4, 4, 0, 0, -1, false);
  auto checked = installer_.CheckRequirements(object, device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNotFound);
  auto installed = installer_.Install(object, device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(device_.root / "dev/mmcblk0p2"));
}

TEST_F(InstallRawTest, MountedTargetIsRefused) {
  device_.AddFile("/proc/self/mountinfo",
                  "26 1 179:2 / / rw,relatime shared:1 - ext4 /dev/mmcblk0p2 rw\n");
  auto after = Run(Raw(4, 4, 0, 0, -1, false), "data", "before");
  ASSERT_FALSE(after);
  EXPECT_NE(after.error().message().find("is mounted on /"), std::string::npos);
}

TEST_F(InstallRawTest, TargetEscapingTheRootIsRefused) {
  auto object = Raw(4, 4, 0, 0, -1, false);
  object.target = "/dev/../../outside";
  uh::testing::WriteFile(dir_.path() / "outside", "keep");
  device_.ctx.object_file = testing::WriteObject(dir_.path(), "data");
  EXPECT_FALSE(installer_.CheckRequirements(object, device_.ctx));
  auto installed = installer_.Install(object, device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(ReadFile(dir_.path() / "outside"), "keep");
}

TEST_F(InstallRawTest, DirectoryTargetIsRefused) {
  device_.AddDir("/dev/mmcblk0p2");
  device_.ctx.object_file = testing::WriteObject(dir_.path(), "data");
  EXPECT_FALSE(installer_.CheckRequirements(Raw(4, 4, 0, 0, -1, false), device_.ctx));
  EXPECT_FALSE(installer_.Install(Raw(4, 4, 0, 0, -1, false), device_.ctx));
}

TEST_F(InstallRawTest, OverflowingOffsetsAreRefused) {
  auto after = Run(Raw(4, 1ULL << 40, 0, 1ULL << 40, -1, false), "data", "");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::kMalformed);
}

TEST_F(InstallRawTest, Cancellation) {
  device_.ctx.cancelled = [] { return true; };
  auto after = Run(Raw(4096, 512, 0, 0, -1, false), RandomBytes(4096), "");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::kCancelled);
}

// --- Streaming (update.stream_objects) ------------------------------------------------------

TEST_F(InstallRawTest, OnlyObjectsWrittenWholeAndAsTheyAreAreStreamed) {
  device_.AddFile("/dev/mmcblk0p2", "");
  auto whole = StreamTargetOf(Raw(1000, 512, 0, 3, -1, false), device_.ctx);
  ASSERT_TRUE(whole) << whole.error().message();
  ASSERT_TRUE(*whole);
  EXPECT_EQ((*whole)->offset, 1536u);
  EXPECT_EQ((*whole)->device, "/dev/mmcblk0p2");
  EXPECT_EQ((*whole)->path, device_.root / "dev/mmcblk0p2");
  auto counted = StreamTargetOf(Raw(1000, 512, 0, 0, 2, false), device_.ctx);  // count covers it
  ASSERT_TRUE(counted && *counted);

  auto compressed = Raw(1000, 512, 0, 0, -1, false);
  compressed.compressed = true;
  auto if_different = Raw(1000, 512, 0, 0, -1, false);
  if_different.install_if_different = package::InstallIfDifferent{};
  auto copy = Raw(1000, 512, 0, 0, -1, false);
  copy.mode = package::Mode::kCopy;
  const std::vector<std::pair<const char*, package::Object>> not_streamed = {
      {"skip", Raw(1000, 512, 1, 0, -1, false)},
      {"count below the size", Raw(1000, 512, 0, 0, 1, false)},
      {"truncate", Raw(1000, 512, 0, 0, -1, true)},
      {"compressed", compressed},
      {"install-if-different", if_different},
      {"copy mode", copy}};
  for (const auto& [why, object] : not_streamed) {
    auto target = StreamTargetOf(object, device_.ctx);
    ASSERT_TRUE(target) << why << ": " << target.error().message();
    EXPECT_FALSE(*target) << why;
  }
  // A target outside the root is refused, as for an install.
  auto escaping = Raw(1000, 512, 0, 0, -1, false);
  escaping.target = "/dev/../../etc/passwd";
  EXPECT_FALSE(StreamTargetOf(escaping, device_.ctx));
}

// What cannot be written straight into its target can still be piped into its installer while
// it downloads: every raw, copy and tarball object but those that ask install-if-different.
TEST(PipedInstallOf, RawCopyAndTarballWithoutInstallIfDifferent) {
  auto compressed = Raw(1000, 512, 1, 0, 3, true);
  compressed.compressed = true;
  auto copy = Raw(1000, 512, 0, 0, -1, false);
  copy.mode = package::Mode::kCopy;
  auto tarball = copy;
  tarball.mode = package::Mode::kTarball;
  for (const auto& object : {Raw(1000, 512, 0, 0, -1, false), compressed, copy, tarball}) {
    EXPECT_TRUE(PipedInstallOf(object)) << package::ModeName(object.mode);
  }
  auto if_different = compressed;
  if_different.install_if_different = package::InstallIfDifferent{};
  auto flash = copy;
  flash.mode = package::Mode::kFlash;
  auto ubifs = copy;
  ubifs.mode = package::Mode::kUbifs;
  for (const auto& object : {if_different, flash, ubifs}) {
    EXPECT_FALSE(PipedInstallOf(object)) << package::ModeName(object.mode);
  }
}

TEST_F(InstallRawTest, AStreamedObjectIsVerifiedWhereItWasWritten) {
  const auto data = RandomBytes(5000, 11);
  auto object = Raw(data.size(), 1000, 0, 2, -1, false);
  object.sha256sum = Sha256Hex(data);
  const auto slot = device_.AddFile("/dev/mmcblk0p2", std::string(2000, 'a') + data + "tail");
  auto target = StreamTargetOf(object, device_.ctx);
  ASSERT_TRUE(target && *target);
  auto verified = VerifyStreamed(object, **target, device_.ctx);
  EXPECT_TRUE(verified) << verified.error().message();

  auto damaged = ReadFile(slot);
  damaged[2000 + 4321] = static_cast<char>(damaged[2000 + 4321] ^ 0x40);
  uh::testing::WriteFile(slot, damaged);
  verified = VerifyStreamed(object, **target, device_.ctx);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code(), Errc::kIntegrity);
  EXPECT_NE(verified.error().message().find("expected " + object.sha256sum), std::string::npos);

  uh::testing::WriteFile(slot, std::string(2000, 'a') + data.substr(0, 100));  // too short
  verified = VerifyStreamed(object, **target, device_.ctx);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code(), Errc::kIntegrity);
}

}  // namespace
}  // namespace uh::agent
