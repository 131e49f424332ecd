// What the server keeps on disk and who may touch it: uploads refused before their body is read,
// a private data directory, one server per data directory, no leftovers of cut imports, and an
// admin password that is never lost.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/hash.hpp"
#include "server/auth.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::BodyOf;
using http::testing::Fetch;
using http::testing::RawConnection;
using http::testing::StatusOf;
using nlohmann::json;
using ::testing::HasSubstr;

unsigned ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::filesystem::path> FilesUnder(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

// The head of an upload announcing `length` bytes, with `token` (or none).
std::string UploadHead(std::uint64_t length, const std::string& token) {
  std::string head = "POST /api/v1/packages HTTP/1.1\r\nHost: x\r\n";
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  return head +
         "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

TEST(ServerStorage, AnUploadWithoutAValidTokenIsRefusedBeforeItsBody) {
  ServerFixture server;
  const auto temp = server.dir / "data/tmp";
  for (const std::string& token : {std::string(), std::string(64, 'f'), std::string("nope")}) {
    RawConnection connection(server.app().port());
    // 1 GiB announced, not a byte of it sent: the answer must come from the head alone.
    ASSERT_TRUE(connection.Send(UploadHead(1ull << 30, token)));
    ASSERT_TRUE(connection.Send(std::string(4096, 'x')));
    const std::string response = connection.ReadResponse(std::chrono::seconds(5));
    EXPECT_EQ(StatusOf(response), 401) << "token '" << token << "': " << response;
    EXPECT_THAT(response, HasSubstr("WWW-Authenticate: Bearer"));
    EXPECT_TRUE(std::filesystem::is_empty(temp)) << "an upload file was made for it";
  }
  // With a valid token the same head is taken and its body streamed to a file.
  RawConnection connection(server.app().port());
  ASSERT_TRUE(connection.Send(UploadHead(1 << 20, server.token)));
  ASSERT_TRUE(connection.Send(std::string(4096, 'x')));
  EXPECT_TRUE(uh::testing::WaitUntil([&] { return !std::filesystem::is_empty(temp); },
                                     std::chrono::seconds(5), std::chrono::milliseconds(10)))
      << "a valid upload was not streamed to data/tmp";
}

TEST(ServerStorage, TheDataDirectoryIsTheServersAlone) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  ASSERT_EQ(server.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  const auto data = server.dir / "data";
  EXPECT_EQ(ModeOf(data), 0700u);
  EXPECT_EQ(ModeOf(data / "updatehub.db"), 0600u);
  if (std::filesystem::exists(data / "updatehub.db-wal")) {
    EXPECT_EQ(ModeOf(data / "updatehub.db-wal"), 0600u);
  }
  const auto objects = FilesUnder(data / "objects");
  ASSERT_EQ(objects.size(), 2u);
  for (const auto& object : objects) EXPECT_EQ(ModeOf(object), 0600u) << object;

  // A data directory and database made readable by someone else are closed again at start.
  server.Stop();
  std::filesystem::permissions(data, std::filesystem::perms(0755));
  std::filesystem::permissions(data / "updatehub.db", std::filesystem::perms(0644));
  server.Start();
  EXPECT_EQ(ModeOf(data), 0700u);
  EXPECT_EQ(ModeOf(data / "updatehub.db"), 0600u);
}

TEST(ServerStorage, ASecondServerOnTheSameDataDirectoryIsRefused) {
  ServerFixture server;
  ServerConfig config = server.config();
  config.listen = "127.0.0.1:0";
  auto second = ServerApp::Start(config, kAdminPassword);
  ASSERT_FALSE(second) << "two servers share " << config.data_dir;
  EXPECT_EQ(second.error().code(), Errc::kAlreadyExists);
  EXPECT_THAT(second.error().message(),
              HasSubstr("another updatehub-server (pid " + std::to_string(::getpid()) + ")"));
  EXPECT_THAT(second.error().message(), HasSubstr(config.data_dir.string()));
  // The first one is untouched, and once it is gone the directory is free again.
  EXPECT_EQ(server.Api("GET", "/api/v1/products").status, 200);
  server.Stop();
  auto after = ServerApp::Start(config, kAdminPassword);
  ASSERT_TRUE(after) << after.error().message();
}

TEST(ServerStorage, LeftoversOfACutImportAreRemovedAtStart) {
  ServerFixture server;
  server.SetUpConformanceProduct();
  ASSERT_EQ(server.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  server.Stop();
  const auto objects = server.dir / "data/objects";
  const auto rootfs = objects / kRootfs.substr(0, 2) / kRootfs;
  ASSERT_TRUE(std::filesystem::exists(rootfs));
  const auto cut = rootfs.parent_path() / (std::string(64, 'a') + ".tmp123456");
  uh::testing::WriteFile(cut, "half an object");
  const auto misplaced = rootfs.parent_path() / std::string(64, 'b');  // not under bb/
  uh::testing::WriteFile(misplaced, "not where an object goes");
  server.Start();
  EXPECT_FALSE(std::filesystem::exists(cut));
  EXPECT_FALSE(std::filesystem::exists(misplaced));
  EXPECT_TRUE(std::filesystem::exists(rootfs));
  // The package is whole and still served.
  auto whole = Fetch(server.Url(std::string("/products/") + kConformanceProduct + "/packages/" +
                                kUid + "/objects/" + kRootfs));
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(Sha256Hex(whole.body), kRootfs);
}

TEST(ServerStorage, ASharedObjectsDirectoryKeepsOtherServersImports) {
  ServerFixture server;
  const auto shared = server.dir / "shared-objects";
  server.Stop();
  server.config().objects_dir = shared;
  server.Start();
  server.SetUpConformanceProduct();
  ASSERT_EQ(server.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  server.Stop();
  const auto rootfs = shared / kRootfs.substr(0, 2) / kRootfs;
  ASSERT_TRUE(std::filesystem::exists(rootfs));
  EXPECT_FALSE(std::filesystem::exists(server.dir / "data/objects" / kRootfs.substr(0, 2)));
  // Another server is importing into the shared directory right now; a third import was cut an
  // hour and a half ago.
  const auto busy = rootfs.parent_path() / (std::string(64, 'a') + ".tmp1");
  const auto cut = rootfs.parent_path() / (std::string(64, 'c') + ".tmp2");
  uh::testing::WriteFile(busy, "being written");
  uh::testing::WriteFile(cut, "half an object");
  std::filesystem::last_write_time(
      cut, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(90));
  server.Start();
  EXPECT_TRUE(std::filesystem::exists(busy));
  EXPECT_FALSE(std::filesystem::exists(cut));
  auto whole = Fetch(server.Url(std::string("/products/") + kConformanceProduct + "/packages/" +
                                kUid + "/objects/" + kRootfs));
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(Sha256Hex(whole.body), kRootfs);
}

TEST(ServerStorage, TheAdminIsCreatedOnlyOnceTheServerServes) {
  ServerFixture taken;  // holds a port
  uh::testing::TempDir dir;
  ServerConfig config;
  config.data_dir = dir / "data";
  config.listen = "127.0.0.1:" + std::to_string(taken.app().port());
  auto failed = ServerApp::Start(config, "");
  ASSERT_FALSE(failed) << "started on a port in use";
  {
    auto store = OpenStore(config.DatabaseUrl());
    ASSERT_TRUE(store) << store.error().message();
    auto users = (*store)->CountUsers();
    ASSERT_TRUE(users);
    EXPECT_EQ(*users, 0u) << "an admin was made whose password nobody saw";
  }
  config.listen = "127.0.0.1:0";
  auto started = ServerApp::Start(config, "");
  ASSERT_TRUE(started) << started.error().message();
  const auto& password = (*started)->generated_admin_password();
  ASSERT_TRUE(password.has_value());
  auto login = Fetch(
      "http://127.0.0.1:" + std::to_string((*started)->port()) + "/api/v1/login",
      {.method = "POST", .body = json{{"username", "admin"}, {"password", *password}}.dump()});
  EXPECT_EQ(login.status, 200) << login.body;
}

TEST(ServerStorage, TheAdminPasswordCanBeSetAgainWhileTheServerIsStopped) {
  ServerFixture server;
  const std::string old_token = server.token;
  auto refused = ResetAdminPassword(server.config(), "another horse battery");
  ASSERT_FALSE(refused) << "reset while the server runs";
  EXPECT_EQ(refused.error().code(), Errc::kAlreadyExists);

  server.Stop();
  auto generated = ResetAdminPassword(server.config(), "");
  ASSERT_TRUE(generated) << generated.error().message();
  EXPECT_GE(generated->size(), 20u);
  // The first-admin password given at start changes nothing now that admin exists.
  auto app = ServerApp::Start(server.config(), kAdminPassword);
  ASSERT_TRUE(app) << app.error().message();
  EXPECT_FALSE((*app)->generated_admin_password());
  const std::string base = "http://127.0.0.1:" + std::to_string((*app)->port());
  auto login = [&](const std::string& password) {
    return Fetch(base + "/api/v1/login",
                 {.method = "POST",
                  .body = json{{"username", "admin"}, {"password", password}}.dump()})
        .status;
  };
  EXPECT_EQ(login(*generated), 200);
  EXPECT_EQ(login(kAdminPassword), 401);
  EXPECT_EQ(
      Fetch(base + "/api/v1/products", {.headers = {"Authorization: Bearer " + old_token}}).status,
      401)
      << "a token of the old password still works";
}

}  // namespace
}  // namespace uh::server::testing
