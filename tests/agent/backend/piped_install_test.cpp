// Piped installs: an object's download feeds its installer through a pipe (compressed raw
// images, raw with skip/count/truncate, tarballs), with nothing in the download directory; the
// installer's errors and the transfer's are told apart; a wrong hash fails after the install;
// an abort ends both; a cut transfer goes on after what the installer has; the worker does the
// same as this process.

#include "agent/backend/piped_install.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "agent/backend/local_backend.hpp"
#include "agent/backend/worker_backend.hpp"
#include "agent/client/client_fixture.hpp"
#include "agent/client/raw_http_server.hpp"
#include "agent/install/install_test_support.hpp"
#include "core/hash.hpp"
#include "package/package_reader.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using ::testing::HasSubstr;
using testing::TarEntry;
using uh::testing::RandomBytes;
using uh::testing::ReadFile;
using namespace std::chrono_literals;

class PipedInstallTest : public testing::ClientTest {
 protected:
  PipedInstallTest() {
    server_.Route(testing::http::Method::kGet, "/products/{p}/packages/{k}/objects/{o}",
                  [this](testing::http::Request& request) {
                    return testing::http::FileResponse(request, dir_ / "served");
                  });
    server_.Start();
  }

  // Serves `bytes` as the object, which is `object` with their size and hash.
  package::Object Serve(package::Object object, const std::string& bytes) {
    uh::testing::WriteFile(dir_ / "served", bytes);
    object.size = bytes.size();
    object.sha256sum = Sha256Hex(bytes);
    return object;
  }

  [[nodiscard]] ObjectDownload DownloadOf(const package::Object& object) const {
    return {.product_uid = testing::kProduct,
            .package_uid = testing::kPackage,
            .sha256 = object.sha256sum,
            .size = object.size,
            .dest = download_dir_ / object.sha256sum};
  }

  Expected<void> Run(const package::Object& object) {
    auto client = MakeTestClient(server_.Url());
    return PipedInstall(DownloadFeed(*client, DownloadOf(object), abort_), object, device_.ctx,
                        abort_);
  }

  // Nothing went through the download directory.
  void ExpectNoDownloadedFile() const { EXPECT_TRUE(std::filesystem::is_empty(download_dir_)); }

  static package::Object Raw() {
    package::Object object;
    object.mode = package::Mode::kRaw;
    object.filename = "rootfs.img.xz";
    object.target_type = package::TargetType::kDevice;
    object.target = "/dev/mmcblk0p2";
    object.truncate = false;
    return object;
  }
  static package::Object Tarball() {
    package::Object object;
    object.mode = package::Mode::kTarball;
    object.filename = "data.tar.gz";
    object.target_type = package::TargetType::kDevice;
    object.target = "/dev/mmcblk0p3";
    object.target_path = "/data";
    object.filesystem = "ext4";
    return object;
  }

  Device device_{dir_ / "device"};
  std::filesystem::path download_dir_ = [this] {
    std::filesystem::create_directories(dir_ / "downloads");
    return dir_ / "downloads";
  }();
  std::atomic<bool> abort_{false};
};

TEST_F(PipedInstallTest, ACompressedImageGoesIntoItsTargetWhileItDownloads) {
  const std::string image = RandomBytes(3 << 20, 5) + std::string(1 << 20, '\0');
  auto object = Raw();
  object.compressed = true;
  object.required_uncompressed_size = image.size();
  object = Serve(object, testing::Compress(image, testing::Filter::kXz));
  const auto slot = device_.AddFile("/dev/mmcblk0p2", std::string(5 << 20, 'o'));

  auto installed = Run(object);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto written = ReadFile(slot);
  EXPECT_TRUE(written.substr(0, image.size()) == image);
  EXPECT_TRUE(written.substr(image.size()) == std::string(1 << 20, 'o'));
  ExpectNoDownloadedFile();
}

// skip, seek, count and truncate apply as they do from a file; what the installer leaves unread
// (past count) is still downloaded and hashed.
TEST_F(PipedInstallTest, SkipSeekCountAndTruncateApplyAsFromAFile) {
  const std::string data = RandomBytes(100000, 9);
  auto object = Raw();
  object.chunk_size = 1000;
  object.skip = 2;
  object.seek = 1;
  object.count = 50;
  object.truncate = true;
  object = Serve(object, data);
  const auto slot = device_.AddFile("/dev/mmcblk0p2", std::string(200000, 'o'));

  auto installed = Run(object);
  ASSERT_TRUE(installed) << installed.error().message();
  // Truncated, then 50 chunks of the object from its third chunk, one chunk in.
  EXPECT_TRUE(ReadFile(slot) == std::string(1000, '\0') + data.substr(2000, 50000));
}

TEST_F(PipedInstallTest, ATarballIsExtractedWhileItDownloads) {
  std::vector<TarEntry> entries = {
      {TarEntry::Type::kDir, "etc", "", 0755},
      {TarEntry::Type::kFile, "etc/motd", "hello\n", 0644},
      {TarEntry::Type::kFile, "big.bin", RandomBytes(2 << 20, 3), 0600}};
  const auto object = Serve(Tarball(), testing::MakeTar(entries, /*gzip=*/true));
  const auto partition = device_.AddDir("/dev/mmcblk0p3");

  auto installed = Run(object);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(partition / "data/etc/motd"), "hello\n");
  EXPECT_TRUE(ReadFile(partition / "data/big.bin") == entries[2].content);
  ExpectNoDownloadedFile();
}

// The installer refuses an entry: its error is the call's (not the transfer's), and nothing
// lands outside the target.
TEST_F(PipedInstallTest, TheInstallersErrorIsTheCallsAndStopsTheTransfer) {
  std::vector<TarEntry> entries = {
      {TarEntry::Type::kFile, "../escaped", "x", 0644},
      {TarEntry::Type::kFile, "big.bin", RandomBytes(4 << 20, 4), 0644}};
  const auto object = Serve(Tarball(), testing::MakeTar(entries));
  device_.AddDir("/dev/mmcblk0p3");

  auto installed = Run(object);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kMalformed) << installed.error().message();
  EXPECT_THAT(installed.error().message(), HasSubstr("installing"));
  EXPECT_THAT(installed.error().message(), HasSubstr("../escaped"));
  EXPECT_FALSE(std::filesystem::exists(device_.root / "dev/escaped"));
  EXPECT_FALSE(std::filesystem::exists(device_.root / "dev/mmcblk0p3/escaped"));
}

// The hash is only known at the end: the install may have run, the call still fails.
TEST_F(PipedInstallTest, AWrongHashFailsTheCallAfterTheInstall) {
  auto object = Serve(Raw(), RandomBytes(300000, 2));
  object.sha256sum = std::string(64, 'e');
  device_.AddFile("/dev/mmcblk0p2", std::string(400000, 'o'));
  auto installed = Run(object);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kIntegrity) << installed.error().message();
}

// Corrupt compressed data: the installer's error.
TEST_F(PipedInstallTest, CorruptCompressedDataIsTheInstallersError) {
  auto data = testing::Compress(RandomBytes(1 << 20, 8), testing::Filter::kXz);
  data.resize(data.size() / 2);
  auto object = Raw();
  object.compressed = true;
  object = Serve(object, data);
  device_.AddFile("/dev/mmcblk0p2", std::string(2 << 20, 'o'));
  auto installed = Run(object);
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kMalformed) << installed.error().message();
  EXPECT_THAT(installed.error().message(), HasSubstr("installing"));
}

// An abort ends the transfer and the installer waiting for its data.
TEST_F(PipedInstallTest, AnAbortEndsTheTransferAndTheInstaller) {
  testing::RawHttpServer stalling(
      [](testing::RawHttpServer::Connection& c, const testing::RawRequest&, int) {
        if (c.Send(testing::RawHead(200, {"Content-Length: 1000000"}) + std::string(1000, 'a'))) {
          c.WaitForClose(20s);
        }
      });
  auto object = Raw();
  object.size = 1000000;
  object.sha256sum = std::string(64, 'a');
  device_.AddFile("/dev/mmcblk0p2", std::string(10, 'o'));
  std::thread aborter([this] {
    std::this_thread::sleep_for(300ms);
    abort_ = true;
  });
  auto client = MakeTestClient(stalling.Url());
  const auto start = std::chrono::steady_clock::now();
  auto installed =
      PipedInstall(DownloadFeed(*client, DownloadOf(object), abort_), object, device_.ctx, abort_);
  aborter.join();
  ASSERT_FALSE(installed);
  EXPECT_EQ(installed.error().code(), Errc::kCancelled) << installed.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A transfer cut off is resumed within the call; updatehub-ce answers the range with 200 and only
// the rest, which goes on into the installer after what it already has (not the object again).
TEST_F(PipedInstallTest, ACutTransferGoesOnIntoTheInstallerWhenTheServerSendsOnlyTheRest) {
  const std::string image = RandomBytes(1 << 20, 8);
  auto object = Raw();
  object.compressed = true;
  object = Serve(object, testing::Compress(image, testing::Filter::kZstd));
  const std::string served = ReadFile(dir_ / "served");
  const std::size_t cut = served.size() / 2;
  testing::RawHttpServer ce(
      [&](testing::RawHttpServer::Connection& c, const testing::RawRequest&, int index) {
        const std::string body = index == 0 ? served.substr(0, cut) : served.substr(cut);
        const std::size_t length = index == 0 ? served.size() : served.size() - cut;
        (void)c.Send(testing::RawHead(200, {"Content-Length: " + std::to_string(length)}) + body);
      });
  const auto slot = device_.AddFile("/dev/mmcblk0p2", std::string(image.size(), 'o'));
  auto client = MakeTestClient(ce.Url());
  auto installed =
      PipedInstall(DownloadFeed(*client, DownloadOf(object), abort_), object, device_.ctx, abort_);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_TRUE(ReadFile(slot) == image);
  const auto requests = ce.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(cut) + "-");
  ExpectNoDownloadedFile();
}

// The same through the backends: in this process and in updatehub-worker.
TEST_F(PipedInstallTest, BothBackendsPipeTheObjectIntoItsInstaller) {
  const std::string image = RandomBytes(1 << 20, 6);
  auto object = Raw();
  object.compressed = true;
  object = Serve(object, testing::Compress(image, testing::Filter::kZstd));
  const auto slot = device_.AddFile("/dev/mmcblk0p2", std::string(image.size(), 'o'));
  for (auto& backend : {MakeLocalBackend(), MakeWorkerBackend({.program = UH_WORKER_PROGRAM})}) {
    uh::testing::WriteFile(slot, std::string(image.size(), 'o'));
    auto installed = backend->StreamInstall(TestOptions(server_.Url()), DownloadOf(object), object,
                                            device_.ctx, abort_);
    ASSERT_TRUE(installed) << installed.error().message();
    EXPECT_TRUE(ReadFile(slot) == image);
    ExpectNoDownloadedFile();
  }
}

// A package read in place, through both backends: its head without its objects, one object
// extracted, one piped from the package into its installer; an object the package does not
// hold, and a package that is not there, are errors.
TEST_F(PipedInstallTest, BothBackendsReadAPackageInPlace) {
  const auto file = uh::testing::TestPackagesDir() / "signed.uhupkg";
  auto reader = package::PackageReader::Open(file);
  ASSERT_TRUE(reader);
  const package::Object* raw = nullptr;
  const package::Object* tarball = nullptr;
  for (const auto& object : reader->metadata().sets.at(1)) {
    (object.mode == package::Mode::kRaw ? raw : tarball) = &object;
  }
  ASSERT_TRUE(raw && tarball);
  const auto slot = device_.AddFile(*raw->target, std::string(raw->size, 'o'));
  for (auto& backend : {MakeLocalBackend(), MakeWorkerBackend({.program = UH_WORKER_PROGRAM})}) {
    auto head = backend->ReadPackage(file);
    ASSERT_TRUE(head) << head.error().message();
    EXPECT_EQ(head->metadata, reader->metadata_bytes());
    EXPECT_EQ(head->package_uid, reader->uid());
    ExpectNoDownloadedFile();

    const auto extracted = download_dir_ / tarball->sha256sum;
    ASSERT_TRUE(backend->ExtractObject(file, *tarball, extracted));
    EXPECT_EQ(Sha256Hex(ReadFile(extracted)), tarball->sha256sum);
    std::filesystem::remove(extracted);

    uh::testing::WriteFile(slot, std::string(raw->size, 'o'));
    auto installed = backend->InstallFromPackage(file, *raw, device_.ctx, abort_);
    ASSERT_TRUE(installed) << installed.error().message();
    EXPECT_EQ(Sha256Hex(ReadFile(slot)), raw->sha256sum);
    ExpectNoDownloadedFile();

    auto stranger = *raw;
    stranger.sha256sum = std::string(64, 'c');
    EXPECT_FALSE(backend->InstallFromPackage(file, stranger, device_.ctx, abort_));
    EXPECT_FALSE(backend->ExtractObject(file, stranger, extracted));
    EXPECT_FALSE(std::filesystem::exists(extracted));
    EXPECT_FALSE(backend->ReadPackage(dir_ / "missing.uhupkg"));
  }
}

}  // namespace
}  // namespace uh::agent
