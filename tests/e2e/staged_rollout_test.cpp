// The main job, end to end: a signed 2.0 release rolled out in two stages (25 %, then
// everyone) to 20 simulated devices on 1.0, each a real agent process (8 under ASan+UBSan,
// where each of them costs several times the CPU: the same steps, on a smaller fleet). Every
// other device streams the update into its slot as it downloads (update.stream_objects: the
// gzip root file system decompressed into the partition, the tarball extracted).

#include <gmock/gmock.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/hash.hpp"
#include "e2e/e2e_fixture.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using ::testing::IsEmpty;
using uh::testing::ReadFile;

constexpr int kStagedDevices = kSlowdown > 1 ? 8 : 20;
constexpr int kFirstStage = kStagedDevices / 4;

// The names of everything created in (or moved into) some directories since each was watched,
// by inotify: unlike looking at a directory now and then, it misses no file, however briefly the
// file was there. A watch that ends (its directory removed) leaves "(watch ended)", since what
// happened there afterwards is unknown; a lost event fails the read.
class CreatedNames {
 public:
  CreatedNames() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~CreatedNames() {
    if (fd_ >= 0) ::close(fd_);
  }
  CreatedNames(const CreatedNames&) = delete;
  CreatedNames& operator=(const CreatedNames&) = delete;

  // "" when `dir` is watched from now on, else why not.
  [[nodiscard]] std::string Watch(const std::filesystem::path& dir) {
    const int wd =
        fd_ < 0 ? -1 : ::inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd < 0) return dir.string() + ": " + std::strerror(errno);
    dirs_[wd] = dir;
    names_[dir];
    return "";
  }

  // What the watched directories received so far; "" when no event was lost, else why.
  [[nodiscard]] std::string Read() {
    alignas(inotify_event) char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return "";
      if (n <= 0) return std::string("reading inotify events: ") + std::strerror(errno);
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if (event->mask & IN_Q_OVERFLOW) return "inotify events were lost (queue overflow)";
        const auto dir = dirs_.find(event->wd);
        if (dir == dirs_.end()) continue;
        if (event->mask & IN_IGNORED) {
          names_[dir->second].push_back("(watch ended)");
        } else if (event->len > 0) {
          names_[dir->second].push_back(event->name);
        }
      }
    }
  }

  [[nodiscard]] const std::vector<std::string>& In(const std::filesystem::path& dir) const {
    return names_.at(dir);
  }

 private:
  int fd_;
  std::map<int, std::filesystem::path> dirs_;
  std::map<std::filesystem::path, std::vector<std::string>> names_;
};

// The names that are objects' (a sha256sum), once each.
std::set<std::string> ObjectNames(const std::vector<std::string>& names) {
  std::set<std::string> objects;
  for (const auto& name : names) {
    if (IsLowerHexSha256(name)) objects.insert(name);
  }
  return objects;
}

TEST_F(E2eTest, StagedRolloutUpdatesEveryDevice) {
  const auto key = MakeKey(dir_ / "keys");
  ReleaseSpec spec;
  spec.product = server_.CreateProduct("e2e board");
  ASSERT_FALSE(spec.product.empty());
  server_.RegisterKey(spec.product, key.pub);
  const auto release = BuildRelease(dir_ / "release", spec, key);
  const auto package = server_.UploadPackage(release.package);
  ASSERT_FALSE(package.empty());
  Step("release built and uploaded");

  auto args = ReleaseDeviceArgs(spec, key);
  args.insert(args.end(), {"--image", release.old_image.string()});
  auto& fleet = MakeFleet(args);
  std::vector<DeviceSpec> devices;
  const auto streams = [](int i) { return i % 2 == 0; };
  for (int i = 1; i <= kStagedDevices; ++i) {
    devices.push_back({Serial("stage", i), streams(i) ? std::vector<std::string>{"--stream-objects"}
                                                      : std::vector<std::string>{}});
  }
  fleet.Add(devices);
  Step("devices made");
  // Every download directory is watched from before the update is offered until the end.
  const auto download_dir = [](const SimulatedDevice& device) {
    return device.dir() / "var" / "download";
  };
  CreatedNames created;
  for (auto& device : fleet) ASSERT_EQ(created.Watch(download_dir(*device)), "");
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  ASSERT_TRUE(WaitForDevices(spec.product, kStagedDevices))
      << "not every device reached the server";
  Step("devices known to the server");

  const auto rollout = server_.CreateRollout(
      spec.product, {{"package", package},
                     {"name", "2.0 in two stages"},
                     {"stages", json::array({json{{"percent", 25}}, 100})},
                     {"failure_threshold", {{"percent", 10}, {"min_attempted", 5}}}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  Step("rollout created, devices asked to probe");

  const auto shown = WaitForRollout(rollout, "finished", Limit(150));
  Step("rollout " + shown.value("state", std::string()));
  ASSERT_EQ(shown.value("state", ""), "finished") << shown.dump(2);
  ASSERT_EQ(created.Read(), "");

  // The server's statistics say what the devices did: everyone updated, a quarter in the first
  // stage and the rest in the second.
  EXPECT_EQ(shown["statistics"]["total"], kStagedDevices);
  EXPECT_EQ(CountOf(shown, "updated"), kStagedDevices);
  for (const char* state : {"pending", "downloading", "installing", "rebooting", "failed"}) {
    EXPECT_EQ(CountOf(shown, state), 0) << state;
  }
  EXPECT_EQ(StageCountOf(shown, 0, "total"), kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 0, "updated"), kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 1, "total"), kStagedDevices - kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 1, "updated"), kStagedDevices - kFirstStage);
  EXPECT_EQ(shown["current_stage"], 1);
  EXPECT_TRUE(server_.Reports("status=error").empty());

  const auto ids = DeviceIds(spec.product);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kStagedDevices));
  for (const auto& device : server_.Devices(spec.product)) {
    EXPECT_EQ(device["version"], "2.0") << device.dump();
  }
  const std::string new_image = ReadFile(release.new_image);
  const std::string old_image = ReadFile(release.old_image);
  const std::vector<std::string> every_step = {"downloading", "downloaded", "installing",
                                               "installed", "rebooting"};
  int index = 0;
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    ++index;
    ASSERT_TRUE(ids.contains(device->serial()));
    // Every step reported, in order, once, and nothing else.
    EXPECT_EQ(ReportStatuses(ids.at(device->serial())), every_step);
    // Slot B runs 2.0, confirmed; its root file system is the new image byte for byte, the
    // application files are in slot B's directory, and slot A was left alone.
    EXPECT_EQ(device->Slot(), "1");
    EXPECT_EQ(device->Version(), "2.0");
    EXPECT_EQ(device->BootVar("updatehub_active"), "1");
    EXPECT_EQ(device->BootVar("upgrade_available"), "0");
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p3")) == new_image)
        << "slot B's root file system differs from the 2.0 image";
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p2")) == old_image)
        << "slot A's root file system changed";
    EXPECT_EQ(ReadIfExists(device->OnDevice("/dev/mmcblk0p6/motd")), "hello from version 2.0\n");
    EXPECT_EQ(ReadIfExists(device->OnDevice("/dev/mmcblk0p6/etc/app.conf")), "version = 2.0\n");
    EXPECT_TRUE(std::filesystem::is_empty(device->OnDevice("/dev/mmcblk0p5")));
    // Nothing was ever created in a streaming device's download directory: both objects went from
    // the transfer into their installers. The other devices show that the watch sees the
    // objects arrive there, where they stay until the reboot.
    const auto& arrived = created.In(download_dir(*device));
    if (streams(index)) {
      EXPECT_THAT(arrived, IsEmpty()) << "created in the download directory of a streaming device";
      const std::string log = ReadFile(device->dir() / "agent.log");
      EXPECT_NE(log.find("installing (raw) while it downloads"), std::string::npos);
      EXPECT_NE(log.find("installing (tarball) while it downloads"), std::string::npos);
      EXPECT_EQ(log.find("info installing "), std::string::npos);  // nothing left to install
    } else {
      EXPECT_EQ(ObjectNames(arrived).size(), 2u)
          << "the watch did not see both objects arrive: " << ::testing::PrintToString(arrived);
    }
    // One reboot, into slot 1, which validated.
    EXPECT_EQ(EventsOf(*device),
              (std::vector<std::string>{"boot: slot 0, version 1.0", "reboot",
                                        "boot: slot 1, version 2.0", "validate ok: slot 1"}));
  }
}

}  // namespace
}  // namespace uh::e2e
