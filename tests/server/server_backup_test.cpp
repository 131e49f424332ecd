// `updatehub-server backup`: a backup taken while the server runs and is being changed, served
// by a new server started on it exactly as the fleet was when it was taken; and destinations
// that are refused without leaving anything that looks like a backup.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/hash.hpp"
#include "server/backup.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using http::testing::FetchOptions;
using nlohmann::json;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

unsigned PermissionsOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> SortedNames(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A client of a server by port: login, then the management API with the token.
class FleetClient {
 public:
  explicit FleetClient(std::uint16_t port) : base_("http://127.0.0.1:" + std::to_string(port)) {}

  long Login(const std::string& username, const std::string& password) {
    auto login = Fetch(base_ + "/api/v1/login",
                       {.method = "POST",
                        .headers = {"Content-Type: application/json"},
                        .body = json{{"username", username}, {"password", password}}.dump()});
    if (login.status == 200) token_ = json::parse(login.body)["token"];
    return login.status;
  }

  json Get(const std::string& path) {
    auto got = Fetch(base_ + path, {.headers = {"Authorization: Bearer " + token_}});
    EXPECT_EQ(got.status, 200) << path << ": " << got.body;
    return got.status == 200 ? json::parse(got.body) : json();
  }

  // What a restore must give back: the fleet, its packages and the rollout, without the times
  // of last contact (flushed in the background, so not part of any one moment).
  json Fleet(std::int64_t rollout) {
    json devices = Get(std::string("/api/v1/devices?product=") + kConformanceProduct +
                       "&limit=1000")["devices"];
    json members = Get("/api/v1/rollouts/" + std::to_string(rollout) + "/devices")["devices"];
    for (auto* list : {&devices, &members}) {
      for (auto& device : *list) device.erase("last_seen");
    }
    json shown = Get("/api/v1/rollouts/" + std::to_string(rollout));
    return {{"devices", devices},
            {"packages",
             Get(std::string("/api/v1/packages?product=") + kConformanceProduct)["packages"]},
            {"rollout",
             {{"state", shown["state"]},
              {"current_stage", shown["current_stage"]},
              {"states", shown["statistics"]["states"]}}},
            {"members", members}};
  }

  std::string base() const { return base_; }

 private:
  std::string base_;
  std::string token_;
};

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The fixture's store is PostgreSQL then, whose database `backup` leaves to pg_dump.
    if (std::getenv("UH_TEST_SERVER_POSTGRES_DIR") != nullptr) {
      GTEST_SKIP() << "backups of the SQLite store";
    }
    server_.SetUpConformanceProduct();
    auto uploaded = server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg");
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  // Ten devices, a rollout to them part-way: two updated, one downloading, one failed, one
  // offered, the other five waiting for the manual second stage.
  std::int64_t FleetPartWay() {
    std::vector<json> devices;
    for (int i = 0; i < 10; ++i) {
      devices.push_back(ServerFixture::DeviceBody("dev" + std::to_string(i), "0.9"));
      EXPECT_EQ(server_.Probe(devices.back()).status, 404);
    }
    json ids = json::array();
    auto listed = server_.Api("GET", "/api/v1/devices?limit=100");
    EXPECT_EQ(listed.status, 200) << listed.body;
    const json list = json::parse(listed.body);
    for (const auto& device : list["devices"]) ids.push_back(device["id"]);
    auto created =
        server_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                    {{"package", kUid},
                     {"devices", ids},
                     {"stages", {{{"percent", 50}, {"manual", true}}, 100}}});
    EXPECT_EQ(created.status, 201) << created.body;
    std::vector<json> offered;
    for (const auto& device : devices) {
      if (server_.Probe(device).status == 200) offered.push_back(device);
    }
    if (offered.size() != 5u) throw std::runtime_error("the rollout did not offer 5 devices");
    for (int i = 0; i < 2; ++i) {
      for (const char* status :
           {"downloading", "downloaded", "installing", "installed", "rebooting"}) {
        EXPECT_EQ(server_.Report(offered[i], status, kUid).status, 200);
      }
      offered[i]["version"] = "1.0.0";
      EXPECT_EQ(server_.Probe(offered[i]).status, 404);
    }
    EXPECT_EQ(server_.Report(offered[2], "downloading", kUid).status, 200);
    EXPECT_EQ(server_.Report(offered[3], "error", kUid, "no room in the inactive slot").status,
              200);
    offered_ = offered;
    return json::parse(created.body)["id"].get<std::int64_t>();
  }

  ServerFixture server_;
  std::vector<json> offered_;
};

TEST_F(BackupTest, ANewServerOnTheBackupServesTheFleetAsItWasWhenTaken) {
  const std::int64_t rollout = FleetPartWay();
  ASSERT_EQ(server_
                .Api("POST", "/api/v1/users",
                     {{"username", "ops"}, {"password", "quiet harbour 42"}, {"role", "viewer"}})
                .status,
            201);
  FleetClient live(server_.app().port());
  ASSERT_EQ(live.Login("admin", kAdminPassword), 200);
  const json before = live.Fleet(rollout);

  // The live server keeps changing while the backup runs: new devices, a second package.
  std::atomic<bool> done{false};
  std::thread changes([&] {
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "compressed.uhupkg").status, 201);
    for (int i = 0; !done; ++i) {
      (void)server_.Probe(ServerFixture::DeviceBody("during" + std::to_string(i), "0.9"));
    }
  });
  const fs::path dest = server_.dir.path() / "backup";
  fs::create_directory(dest);  // an empty directory is taken too
  auto backup = Backup(server_.config(), dest);
  done = true;
  changes.join();
  ASSERT_TRUE(backup) << backup.error().message();
  EXPECT_TRUE(backup->database);
  EXPECT_GE(backup->objects, 2u);
  EXPECT_EQ(backup->linked, backup->objects);  // the same file system: hard links

  // And after it: the rollout goes on to its end, a user comes, more devices.
  ASSERT_EQ(server_.Api("POST", "/api/v1/rollouts/" + std::to_string(rollout) + "/advance").status,
            200);
  ASSERT_EQ(server_
                .Api("POST", "/api/v1/users",
                     {{"username", "late"}, {"password", "amber window 77"}, {"role", "viewer"}})
                .status,
            201);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody("after" + std::to_string(i), "0.9")).status,
              404);
  }
  ASSERT_NE(live.Fleet(rollout), before);

  // Only what a server needs, private.
  EXPECT_EQ(SortedNames(dest), (std::vector<std::string>{"objects", "updatehub.db"}));
  EXPECT_EQ(PermissionsOf(dest), 0700u);
  EXPECT_EQ(PermissionsOf(dest / "updatehub.db"), 0600u);
  for (const auto& entry : fs::recursive_directory_iterator(dest / "objects")) {
    EXPECT_EQ(PermissionsOf(entry.path()), entry.is_directory() ? 0700u : 0600u) << entry.path();
  }
  EXPECT_THAT(SortedNames(server_.dir.path()),
              ::testing::Not(::testing::Contains(HasSubstr("partial"))));

  ServerConfig config = server_.config();
  config.data_dir = dest;
  config.listen = "127.0.0.1:0";
  auto restored = ServerApp::Start(config, kAdminPassword);
  ASSERT_TRUE(restored) << restored.error().message();
  FleetClient client((*restored)->port());
  ASSERT_EQ(client.Login("admin", kAdminPassword), 200);
  json after = client.Fleet(rollout);
  // Devices that first probed while the backup ran may be in it or not; nothing else differs.
  json kept = json::array();
  for (const auto& device : after["devices"]) {
    if (!device["identity"]["serial"].get<std::string>().starts_with("during")) {
      kept.push_back(device);
    }
  }
  after["devices"] = kept;
  json first = json::array();
  for (const auto& package : after["packages"]) {
    if (package["uid"] == kUid) first.push_back(package);
  }
  after["packages"] = first;
  EXPECT_EQ(after, before);
  EXPECT_EQ(FleetClient((*restored)->port()).Login("ops", "quiet harbour 42"), 200);
  EXPECT_EQ(FleetClient((*restored)->port()).Login("late", "amber window 77"), 401);

  // Devices carry on against it: the one that was downloading is offered the package again and
  // downloads every object of every package there with the right bytes.
  const std::string product = kConformanceProduct;
  auto probe = Fetch(client.base() + "/upgrades",
                     {.method = "POST",
                      .headers = {"Content-Type: application/json",
                                  "Api-Content-Type: application/vnd.updatehub-v1+json"},
                      .body = offered_[2].dump()});
  EXPECT_EQ(probe.status, 200) << probe.body;
  const json served = client.Fleet(rollout);
  for (const auto& package : served["packages"]) {
    for (const auto& object : package["objects"]) {
      const std::string sha256 = object["sha256"];
      auto download = Fetch(client.base() + "/products/" + product + "/packages/" +
                            package["uid"].get<std::string>() + "/objects/" + sha256);
      ASSERT_EQ(download.status, 200) << download.body;
      EXPECT_EQ(Sha256Hex(download.body), sha256);
    }
  }
}

TEST_F(BackupTest, BadDestinationsAreRefusedAndLeaveNothingBehind) {
  const fs::path outside = server_.dir.path() / "outside";
  fs::create_directories(outside / "full");
  uh::testing::WriteFile(outside / "full/something", "already here");
  uh::testing::WriteFile(outside / "a-file", "x");
  struct Case {
    const char* what;
    fs::path dest;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not empty", outside / "full", "exists and is not an empty directory"},
      {"a file", outside / "a-file", "exists and is not an empty directory"},
      {"inside the data directory", server_.config().data_dir / "backup",
       "is inside " + server_.config().data_dir.string()},
      {"the data directory itself", server_.config().data_dir,
       "is inside " + server_.config().data_dir.string()},
      {"inside through ..", outside / "../data/objects/b",
       "is inside " + server_.config().data_dir.string()},
      {"under a file", outside / "a-file/backup", "is not a directory"},
      {"no parent", outside / "missing/backup", "is not a directory"},
  };
  for (const auto& bad : cases) {
    auto backup = Backup(server_.config(), bad.dest);
    ASSERT_FALSE(backup) << bad.what;
    EXPECT_THAT(backup.error().message(), HasSubstr(bad.message)) << bad.what;
  }
  EXPECT_EQ(SortedNames(outside), (std::vector<std::string>{"a-file", "full"}));
  EXPECT_EQ(SortedNames(outside / "full"), std::vector<std::string>{"something"});

  // A directory the backup may not write to (root may write anywhere: not checked as root).
  if (::geteuid() != 0) {
    const fs::path locked = outside / "locked";
    fs::create_directory(locked);
    fs::permissions(locked, fs::perms(0500));
    auto backup = Backup(server_.config(), locked / "backup");
    fs::permissions(locked, fs::perms(0700));
    ASSERT_FALSE(backup);
    EXPECT_THAT(backup.error().message(), HasSubstr("Permission denied"));
    EXPECT_TRUE(fs::is_empty(locked));
  }

  // A data directory that is not there: said so, and not created.
  ServerConfig config = server_.config();
  config.data_dir = server_.dir.path() / "no-such-data";
  auto backup = Backup(config, outside / "backup");
  ASSERT_FALSE(backup);
  EXPECT_THAT(backup.error().message(), HasSubstr("does not exist"));
  EXPECT_FALSE(fs::exists(config.data_dir));
  EXPECT_FALSE(fs::exists(outside / "backup"));
  // A directory without a database is not a server's.
  fs::create_directory(config.data_dir);
  backup = Backup(config, outside / "backup");
  ASSERT_FALSE(backup);
  EXPECT_THAT(backup.error().message(), HasSubstr("no database"));
  EXPECT_EQ(SortedNames(outside), (std::vector<std::string>{"a-file", "full"}));
}

TEST_F(BackupTest, ADamagedObjectStopsTheBackupWithNothingLeft) {
  const fs::path object = server_.config().data_dir / "objects" / kRootfs.substr(0, 2) / kRootfs;
  const auto size = fs::file_size(object);
  {
    std::ofstream damage(object, std::ios::binary | std::ios::in | std::ios::out);
    damage.seekp(static_cast<std::streamoff>(size / 2));
    damage.put('\x5a');
    damage.put('\xa5');
  }
  ASSERT_NE(Sha256File(object)->sha256, kRootfs);
  const fs::path dest = server_.dir.path() / "backup";
  auto backup = Backup(server_.config(), dest);
  ASSERT_FALSE(backup);
  EXPECT_EQ(backup.error().code(), Errc::kIntegrity);
  EXPECT_THAT(backup.error().message(), HasSubstr("does not match its sha256"));
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_THAT(SortedNames(server_.dir.path()),
              ::testing::Not(::testing::Contains(HasSubstr("partial"))));
}

// Objects kept outside the data directory (objects_dir) are backed up from there.
TEST_F(BackupTest, ObjectsOfTheirOwnDirectoryAreBackedUpFromThere) {
  const fs::path shared = server_.dir.path() / "shared-objects";
  server_.Stop();
  fs::rename(server_.config().data_dir / "objects", shared);
  server_.config().objects_dir = shared;
  server_.Start();
  auto inside = Backup(server_.config(), shared / "backup");
  ASSERT_FALSE(inside);
  EXPECT_THAT(inside.error().message(), HasSubstr("is inside " + shared.string()));
  const fs::path dest = server_.dir.path() / "backup";
  auto backup = Backup(server_.config(), dest);
  ASSERT_TRUE(backup) << backup.error().message();
  EXPECT_EQ(backup->objects, 2u);
  EXPECT_EQ(Sha256File(dest / "objects" / kRootfs.substr(0, 2) / kRootfs)->sha256, kRootfs);
}

// Objects copied rather than linked when the backup is on another file system (/dev/shm is a
// tmpfs where there is one).
TEST_F(BackupTest, ABackupOnAnotherFileSystemCopiesTheObjects) {
  struct stat data {
  }, shm{};
  if (::stat(server_.config().data_dir.c_str(), &data) != 0 || ::stat("/dev/shm", &shm) != 0 ||
      data.st_dev == shm.st_dev || ::access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "no writable /dev/shm on another file system";
  }
  const fs::path dest = "/dev/shm/uh-backup-test-" + std::to_string(::getpid());
  auto backup = Backup(server_.config(), dest);
  ASSERT_TRUE(backup) << backup.error().message();
  EXPECT_EQ(backup->objects, 2u);
  EXPECT_EQ(backup->linked, 0u);
  const fs::path copy = dest / "objects" / kRootfs.substr(0, 2) / kRootfs;
  EXPECT_EQ(Sha256File(copy)->sha256, kRootfs);
  EXPECT_EQ(PermissionsOf(copy), 0600u);
  std::error_code ec;
  fs::remove_all(dest, ec);
}

}  // namespace
}  // namespace uh::server::testing
