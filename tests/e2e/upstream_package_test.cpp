// A package made by upstream's uhu tool (skipped when those are not beside the clone), uploaded to
// the server and rolled out to simulated devices: the server and the agent handle it as upstream's
// do.

#include "core/hash.hpp"
#include "e2e/e2e_fixture.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using uh::testing::ReadFile;

constexpr int kUhuDevices = 3;
constexpr const char* kProduct = "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";
constexpr const char* kPackageUid =
    "3aa90e49ffe81f4d5c524f6e5037fd28771906515a0d8ec5e7e736b89dccabea";
constexpr const char* kRootfsObject =
    "eb7f5de6ca39a8fea2fcbed500a5dfff367e89547b98f995b20422fa5cb9fe5a";
constexpr const char* kDataObject =
    "795f4c3baf919d58962328d1f3e3c0efc86eaa39dabd15172457a105fec8b3ef";

void ExpectRuns(const std::vector<std::string>& argv) {
  const auto result = uh::testing::Run(argv);
  ASSERT_EQ(result.status, 0) << argv[0] << ": " << result.err << result.out;
}

TEST_F(E2eTest, UpstreamUhuPackageInstalls) {
  UH_UPSTREAM_PACKAGES(conformance);
  ASSERT_EQ(server_.CreateProduct("uhu board", kProduct), kProduct);
  server_.RegisterKey(kProduct, conformance / "key.pub");
  ASSERT_EQ(server_.UploadPackage(conformance / "signed.uhupkg"), kPackageUid);

  // What the package holds, to compare the devices with: its objects, and the files of the
  // tarball.
  const auto unpacked = dir_ / "unpacked";
  ASSERT_NO_FATAL_FAILURE(
      ExpectRuns({PkgBinary().string(), "extract", (conformance / "signed.uhupkg").string(), "--to",
                  unpacked.string()}));
  std::filesystem::path rootfs;
  std::filesystem::path data;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(unpacked)) {
    if (!entry.is_regular_file()) continue;
    const auto sha = uh::Sha256Hex(ReadFile(entry.path()));
    if (sha == kRootfsObject) rootfs = entry.path();
    if (sha == kDataObject) data = entry.path();
  }
  ASSERT_FALSE(rootfs.empty()) << "no rootfs object in " << unpacked;
  ASSERT_FALSE(data.empty()) << "no data object in " << unpacked;
  const auto data_files = dir_ / "data-files";
  std::filesystem::create_directories(data_files);
  ASSERT_NO_FATAL_FAILURE(ExpectRuns({"tar", "-xzf", data.string(), "-C", data_files.string()}));
  Step("package uploaded");

  // The devices run 0.9 from slot A (/dev/mmcblk0p1). Both installation sets of the package
  // write /dev/mmcblk0p2 (raw) and /data of /dev/mmcblk0p3: /dev/mmcblk0p2 is slot B's root
  // file system. Neither image carries an "uh-version" line: the versions file names them.
  const auto image = dir_ / "rootfs-0.9.img";
  uh::testing::WriteFile(image, uh::testing::RandomBytes(256 << 10, 9));
  const auto versions = dir_ / "versions";
  uh::testing::WriteFile(versions,
                         uh::Sha256Hex(ReadFile(image)) + " 0.9\n" + kRootfsObject + " 1.0.0\n");
  auto& fleet = MakeFleet({"--product", kProduct, "--hardware", "board-a", "--key",
                           (conformance / "key.pub").string(), "--image", image.string(),
                           "--rootfs", "/dev/mmcblk0p1,/dev/mmcblk0p2", "--dir", "/dev/mmcblk0p3",
                           "--versions", versions.string()});
  std::vector<DeviceSpec> devices;
  for (int i = 1; i <= kUhuDevices; ++i) devices.push_back({Serial("uhu", i), {}});
  fleet.Add(devices);
  Step("devices made");
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  ASSERT_TRUE(WaitForDevices(kProduct, kUhuDevices)) << "not every device reached the server";
  for (auto& device : fleet) EXPECT_EQ(device->Version(), "0.9") << device->serial();
  Step("devices known to the server");

  const auto rollout = server_.CreateRollout(
      kProduct, {{"package", kPackageUid}, {"filter", {{"hardware", json::array({"board-a"})}}}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  Step("rollout created, devices asked to probe");
  const auto shown = WaitForRollout(rollout, "finished", Limit(90));
  Step("rollout " + shown.value("state", std::string()));
  ASSERT_EQ(shown.value("state", ""), "finished") << shown.dump(2);
  EXPECT_EQ(CountOf(shown, "updated"), kUhuDevices);
  EXPECT_EQ(CountOf(shown, "failed"), 0);
  EXPECT_TRUE(server_.Reports("status=error").empty());

  const std::string object = ReadFile(rootfs);
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    EXPECT_EQ(device->Slot(), "1");
    EXPECT_EQ(device->Version(), "1.0.0");
    EXPECT_EQ(device->BootVar("upgrade_available"), "0");
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p2")) == object)
        << "slot B's root file system is not the package's rootfs.img";
    EXPECT_EQ(uh::Sha256Hex(ReadFile(device->OnDevice("/dev/mmcblk0p1"))),
              uh::Sha256Hex(ReadFile(image)))
        << "slot A changed";
    for (const char* file : {"etc/motd", "usr/bin/app"}) {
      const auto installed = device->OnDevice("/dev/mmcblk0p3/data") / file;
      ASSERT_TRUE(std::filesystem::exists(installed)) << installed;
      EXPECT_EQ(ReadFile(installed), ReadFile(data_files / file)) << file;
    }
    EXPECT_EQ(EventsOf(*device),
              (std::vector<std::string>{"boot: slot 0, version 0.9", "reboot",
                                        "boot: slot 1, version 1.0.0", "validate ok: slot 1"}));
  }
}

}  // namespace
}  // namespace uh::e2e
