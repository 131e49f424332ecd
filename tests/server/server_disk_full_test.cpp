// A disk that fills during an upload: 507 with the reason, and nothing half-written is kept,
// neither the upload's temporary file nor a partial object.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "package/package_reader.hpp"
#include "server/object_store.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using ::testing::HasSubstr;

std::size_t RegularFilesUnder(const std::filesystem::path& dir) {
  std::size_t count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

// Writes past `bytes` fail with EFBIG while it lives (SIGXFSZ ignored), as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved_;
    small.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &small);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(ObjectStoreDiskFullTest, AnObjectThatCannotBeWrittenIsNoSpaceAndLeavesNothing) {
  uh::testing::TempDir dir;
  auto reader = package::PackageReader::Open(uh::testing::TestPackagesDir() / "signed.uhupkg");
  ASSERT_TRUE(reader) << reader.error().message();
  auto store = ObjectStore::Open(dir / "objects");
  ASSERT_TRUE(store) << store.error().message();
  const package::Object* rootfs = nullptr;
  for (const auto* object : reader->metadata().DistinctObjects()) {
    if (object->sha256sum == kRootfs) rootfs = object;
  }
  ASSERT_NE(rootfs, nullptr);
  ASSERT_GT(rootfs->size, 64u * 1024);
  Expected<void> imported;
  {
    FileSizeLimit limit(64 * 1024);
    imported = store->Import(*reader, *rootfs);
  }
  ASSERT_FALSE(imported);
  EXPECT_EQ(imported.error().code(), Errc::kNoSpace) << imported.error().message();
  EXPECT_FALSE(store->Has(kRootfs));
  EXPECT_EQ(RegularFilesUnder(dir / "objects"), 0u);
  EXPECT_TRUE(store->Import(*reader, *rootfs));  // with room, it goes in
}

// The server's data directory on a small tmpfs: the disk is really full.
class ServerDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (CI runs as root)";
    server_.Stop();
    data_ = server_.config().data_dir;
    if (::mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=8m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
    server_.Start();
    server_.SetUpConformanceProduct();
  }
  void TearDown() override {
    server_.Stop();
    if (mounted_) ::umount2(data_.c_str(), MNT_DETACH);
  }

  ServerFixture server_;
  std::filesystem::path data_;
  bool mounted_ = false;
};

TEST_F(ServerDiskFullTest, AnUploadThatFillsTheDiskIs507AndLeavesNoFile) {
  const auto big = server_.dir / "big.uhupkg";
  uh::testing::WriteFile(big, uh::testing::RandomBytes(12 << 20, 5));
  auto answer = server_.Upload(big);
  EXPECT_EQ(answer.status, 507) << answer.error;
  EXPECT_THAT(answer.body, HasSubstr("insufficient storage"));
  EXPECT_THAT(answer.body, HasSubstr("No space left on device"));
  for (int i = 0; i < 100 && RegularFilesUnder(data_ / "tmp") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(RegularFilesUnder(data_ / "tmp"), 0u);
  EXPECT_EQ(server_.Api("GET", "/api/v1/products").status, 200);  // serving on
}

TEST_F(ServerDiskFullTest, APackageWithoutRoomForItsObjectsIs507AndStoresNothing) {
  // The upload fits; its objects would leave less than the safety margin free.
  auto answer = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
  EXPECT_EQ(answer.status, 507) << answer.body;
  EXPECT_THAT(answer.body, HasSubstr("insufficient storage"));
  EXPECT_EQ(RegularFilesUnder(data_ / "objects"), 0u);
  EXPECT_EQ(RegularFilesUnder(data_ / "tmp"), 0u);
  auto packages = nlohmann::json::parse(
      server_.Api("GET", std::string("/api/v1/packages?product=") + kConformanceProduct).body);
  EXPECT_EQ(packages["packages"].size(), 0u) << packages;
}

}  // namespace
}  // namespace uh::server::testing
