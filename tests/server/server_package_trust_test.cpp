// Packages cannot outlive their key or be swapped: a deleted key stops every offer of what it
// signed until the operator re-signs, and a known package with other object bytes is refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.hpp"
#include "package/package_reader.hpp"
#include "package/package_writer.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using http::testing::Fetch;
using nlohmann::json;
using ::testing::HasSubstr;

class PackageTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  }

  std::string ObjectPath(const std::string& sha256) {
    return std::string("/products/") + kConformanceProduct + "/packages/" + kUid + "/objects/" +
           sha256;
  }

  ServerFixture server_;
  uh::testing::TempDir dir_;
};

TEST_F(PackageTrustTest, AKnownPackageWithAnotherObjectIsRefused) {
  // The same metadata and signature, so the same UID; the rootfs member holds other bytes of
  // the same size (a well-formed ZIP: only the sha256 can tell).
  auto original = package::PackageReader::Open(uh::testing::TestPackagesDir() / "signed.uhupkg");
  ASSERT_TRUE(original) << original.error().message();
  const auto forged = dir_ / "forged.uhupkg";
  auto writer = package::PackageWriter::Create(forged);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->AddMember("signature", original->signature()));
  ASSERT_TRUE(writer->AddMember("metadata", original->metadata_bytes()));
  for (const auto* object : original->metadata().DistinctObjects()) {
    std::string bytes;
    ASSERT_TRUE(original->ReadObject(object->sha256sum, [&](std::span<const std::byte> data) {
      bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
      return Expected<void>{};
    }));
    if (object->sha256sum == kRootfs) bytes = uh::testing::RandomBytes(bytes.size(), 77);
    ASSERT_TRUE(writer->AddMember(object->sha256sum, bytes));
  }
  ASSERT_TRUE(writer->Finish());

  auto refused = server_.Upload(forged);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr(kRootfs));
  // What is stored and served is still the real object.
  auto served = Fetch(server_.Url(ObjectPath(kRootfs)));
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(Sha256Hex(served.body), kRootfs);
  // The genuine package again is still "already stored".
  EXPECT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 200);
}

// A damaged upload is refused saying what is wrong with it, never where the server keeps its
// files (the upload's temporary file, the data directory).
TEST_F(PackageTrustTest, ARefusedUploadNamesNoFileOfTheServer) {
  std::string bytes = uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.uhupkg");
  const std::size_t flip = bytes.size() / 2;            // inside the root file system's member
  bytes[flip] = static_cast<char>(bytes[flip] ^ 0x5a);  // its CRC no longer matches
  const auto damaged = dir_ / "damaged.uhupkg";
  uh::testing::WriteFile(damaged, bytes);
  auto refused = server_.Upload(damaged);
  ASSERT_GE(refused.status, 400) << refused.body;
  ASSERT_LT(refused.status, 500) << refused.body;
  const std::string error = json::parse(refused.body).value("error", "");
  EXPECT_FALSE(error.empty()) << refused.body;
  for (const char* internal : {"uh-upload", "/tmp", "tmp/", "objects/"}) {
    EXPECT_THAT(error, ::testing::Not(HasSubstr(internal))) << error;
  }
  EXPECT_THAT(error, HasSubstr("the package")) << error;
}

TEST_F(PackageTrustTest, ADeletedKeyStopsOffersUntilThePackageIsReSigned) {
  const json device = ServerFixture::DeviceBody("dev0", "0.9");
  ASSERT_EQ(server_.Probe(device).status, 404);
  auto created =
      server_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                  {{"package", kUid}, {"stages", {100}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string rollout =
      "/api/v1/rollouts/" + std::to_string(json::parse(created.body)["id"].get<std::int64_t>());
  ASSERT_EQ(server_.Probe(device).status, 200);

  const std::string keys = std::string("/api/v1/products/") + kConformanceProduct + "/keys";
  const auto key_id =
      json::parse(server_.Api("GET", keys).body)["keys"][0]["id"].get<std::int64_t>();
  ASSERT_EQ(server_.Api("DELETE", "/api/v1/keys/" + std::to_string(key_id)).status, 200);

  // No offer any more, and the rollout says why.
  EXPECT_EQ(server_.Probe(device).status, 404);
  auto shown = json::parse(server_.Api("GET", rollout).body);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_THAT(shown["reason"].get<std::string>(),
              HasSubstr("key that signed the package was deleted"));
  auto resumed = server_.Api("POST", rollout + "/resume");
  EXPECT_EQ(resumed.status, 409) << resumed.body;
  // Nor can a new rollout of it be made.
  EXPECT_EQ(server_
                .Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                     {{"package", kUid}, {"stages", {100}}})
                .status,
            409);

  // The operator registers a new key and uploads the package signed with it.
  auto key = uh::testing::Run({uh::testing::PkgTool().string(), "keygen", "--out",
                               (dir_ / "new").string(), "--bits", "2048"});
  ASSERT_EQ(key.status, 0) << key.err;
  ASSERT_EQ(server_.Api("POST", keys, {{"public_key", uh::testing::ReadFile(dir_ / "new/key.pub")}})
                .status,
            201);
  // Signed with the deleted key, it is still refused.
  EXPECT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 422);
  auto resigned = uh::testing::Run({uh::testing::PkgTool().string(), "sign",
                                    (uh::testing::TestPackagesDir() / "signed.uhupkg").string(),
                                    "--key", (dir_ / "new/key.pem").string(), "-o",
                                    (dir_ / "resigned.uhupkg").string()});
  ASSERT_EQ(resigned.status, 0) << resigned.err;
  auto uploaded = server_.Upload(dir_ / "resigned.uhupkg");
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  ASSERT_EQ(server_.Api("POST", rollout + "/resume").status, 200);
  auto offer = server_.Probe(device);
  ASSERT_EQ(offer.status, 200);
  auto reader = package::PackageReader::Open(dir_ / "resigned.uhupkg");
  ASSERT_TRUE(reader);
  EXPECT_EQ(offer.headers["uh-signature"], reader->signature());
}

}  // namespace
}  // namespace uh::server::testing
