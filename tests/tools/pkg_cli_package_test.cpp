// updatehub-pkg verify, inspect, sign and extract on the test packages this build makes
// (TestPackagesDir) and on packages the tests make.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "support/test_support.hpp"
#include "tools/pkg_cli_fixture.hpp"

namespace uh::tools::cli_test {
namespace {

// --- verify ----------------------------------------------------------------------------------

TEST_F(PkgCli, VerifyTestPackages) {
  const fs::path dir = TestPackagesDir();
  for (const char* name : {"signed.uhupkg", "compressed.uhupkg"}) {
    const RunResult result = Pkg({"verify", (dir / name).string(), "--key", Pub().string()});
    EXPECT_EQ(result.status, kOk) << name << ": " << Describe(result);
    EXPECT_THAT(result.out, HasSubstr(": OK"));
    EXPECT_THAT(result.out, HasSubstr("signature: verified"));
    EXPECT_THAT(result.out, HasSubstr("uid: " + TestPackageUid(name)));
  }
  RunResult result = Pkg({"verify", (dir / "signed.uhupkg").string()});
  EXPECT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("not checked"));

  result = Pkg({"verify", (dir / "unsigned.uhupkg").string(), "--key", Pub().string()});
  EXPECT_EQ(result.status, kSignature) << Describe(result);
  EXPECT_EQ(Pkg({"verify", (dir / "unsigned.uhupkg").string()}).status, kOk);
}

TEST_F(PkgCli, VerifyWithTheWrongKeyIsASignatureError) {
  // A key pair of another vendor; made by openssl to keep the test fast and independent.
  ASSERT_EQ(uh::testing::Run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                              "rsa_keygen_bits:2048", "-out", (dir_ / "other.pem").string()})
                .status,
            0);
  ASSERT_EQ(uh::testing::Run({"openssl", "pkey", "-in", (dir_ / "other.pem").string(), "-pubout",
                              "-out", (dir_ / "other.pub").string()})
                .status,
            0);
  const RunResult result = Pkg({"verify", (TestPackagesDir() / "signed.uhupkg").string(), "--key",
                                (dir_ / "other.pub").string()});
  EXPECT_EQ(result.status, kSignature) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("does not verify"));
}

TEST_F(PkgCli, VerifyDetectsACorruptedObject) {
  const fs::path copy = CopyOf("signed.uhupkg");
  const fs::path objects = Extracted(copy, "objects");
  const std::string rootfs = ReadFile(objects / "rootfs.img");
  ASSERT_EQ(rootfs.size(), 1048576u);
  std::string bytes = ReadFile(copy);
  // Find the object's bytes in the package by a slice from its middle.
  const std::string slice = rootfs.substr(rootfs.size() / 2, 64);
  const std::size_t at = bytes.find(slice);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(slice, at + 1), std::string::npos);
  bytes[at + 10] = static_cast<char>(bytes[at + 10] ^ 0x01);
  WriteFile(copy, bytes);
  // The metadata is intact, so the package opens and the signature holds...
  EXPECT_EQ(Pkg({"inspect", copy.string()}).status, kOk);
  // ...but the object does not match.
  const RunResult result = Pkg({"verify", copy.string(), "--key", Pub().string()});
  EXPECT_EQ(result.status, kMalformed) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("updatehub-pkg: error: "));
  EXPECT_EQ(Pkg({"extract", copy.string(), "--to", (dir_ / "bad").string()}).status, kMalformed);
}

TEST_F(PkgCli, VerifyDetectsATruncatedPackage) {
  const std::string bytes = ReadFile(TestPackagesDir() / "signed.uhupkg");
  for (std::size_t size : {std::size_t{0}, std::size_t{30}, std::size_t{1000}, bytes.size() / 2,
                           bytes.size() - 200, bytes.size() - 1}) {
    SCOPED_TRACE(size);
    const fs::path copy = dir_ / "truncated.uhupkg";
    WriteFile(copy, bytes.substr(0, size));
    const RunResult result = Pkg({"verify", copy.string(), "--key", Pub().string()});
    EXPECT_EQ(result.status, kMalformed) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("truncated.uhupkg"));
  }
}

TEST_F(PkgCli, VerifyWithAFileThatIsNotAKey) {
  const fs::path package = TestPackagesDir() / "signed.uhupkg";
  const fs::path not_a_key = File("key.pub", "hello, I am not a key\n");
  RunResult result = Pkg({"verify", package.string(), "--key", not_a_key.string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("not a PEM public key"));
  // A private key where the public one is expected.
  result = Pkg({"verify", package.string(), "--key", Key().string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("PUBLIC KEY"));
  result = Pkg({"verify", package.string(), "--key", (dir_ / "missing.pub").string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  result = Pkg({"verify", (dir_ / "missing.uhupkg").string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
}

TEST_F(PkgCli, VerifyRejectsAFileThatIsNotAPackage) {
  const fs::path text = File("notes.uhupkg", "just some text, not a zip archive\n");
  const RunResult result = Pkg({"verify", text.string()});
  EXPECT_EQ(result.status, kMalformed) << Describe(result);
}

// --- inspect ---------------------------------------------------------------------------------

TEST_F(PkgCli, InspectShowsTheUid) {
  const fs::path dir = TestPackagesDir();
  RunResult result = Pkg({"inspect", (dir / "signed.uhupkg").string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(TestPackageUid("signed.uhupkg")));
  EXPECT_THAT(result.out, HasSubstr("board-a, board-b"));
  EXPECT_THAT(result.out, HasSubstr("rootfs.img"));
  EXPECT_THAT(result.out, HasSubstr("set A"));
  EXPECT_THAT(result.out, HasSubstr("set B"));
  result = Pkg({"inspect", (dir / "compressed.uhupkg").string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(TestPackageUid("compressed.uhupkg")));
  EXPECT_THAT(result.out, HasSubstr("hardware: any"));

  const json info = Inspect(dir / "compressed.uhupkg");
  EXPECT_EQ(info["uid"], json(TestPackageUid("compressed.uhupkg")));
  EXPECT_EQ(info["version"], json("2.0.0-rc1"));
  EXPECT_EQ(info["objects"][1][1]["target"], json("/dev/mmcblk0p6"));
  EXPECT_EQ(info["objects"][0][1]["chunk-size"], json(4096));
  // The metadata part of the JSON is the package's metadata.
  json metadata = info;
  for (const char* key : {"uid", "signed", "size"}) metadata.erase(key);
  EXPECT_EQ(metadata, json::parse(ReadFile(dir / "compressed.metadata.json")));
}

// --- sign ------------------------------------------------------------------------------------

TEST_F(PkgCli, SignAnUnsignedPackage) {
  const fs::path dir = TestPackagesDir();
  const std::string uid = TestPackageUid("signed.uhupkg");
  const fs::path out = dir_ / "resigned.uhupkg";
  const RunResult result = Pkg(
      {"sign", (dir / "unsigned.uhupkg").string(), "--key", Key().string(), "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("uid: " + uid));
  const RunResult verified = Pkg({"verify", out.string(), "--key", Pub().string()});
  EXPECT_EQ(verified.status, kOk) << Describe(verified);
  EXPECT_THAT(verified.out, HasSubstr("uid: " + uid));
  EXPECT_EQ(Inspect(out)["uid"], json(uid));

  // PKCS#1 v1.5 is deterministic: the same key over the same metadata gives the same signature.
  const fs::path ours = Extracted(out, "ours");
  const fs::path theirs = Extracted(dir / "signed.uhupkg", "theirs");
  auto ours_signature = Base64Decode(ReadFile(ours / "signature"));
  auto theirs_signature = Base64Decode(ReadFile(theirs / "signature"));
  ASSERT_TRUE(ours_signature && theirs_signature);
  EXPECT_EQ(*ours_signature, *theirs_signature);
  EXPECT_EQ(ReadFile(ours / "metadata"), ReadFile(dir / "signed.metadata.json"));

  // The input is left alone.
  EXPECT_EQ(Pkg({"verify", (dir / "unsigned.uhupkg").string(), "--key", Pub().string()}).status,
            kSignature);
}

TEST_F(PkgCli, SignInPlaceAndWithABadKey) {
  const fs::path copy = CopyOf("unsigned.uhupkg");
  RunResult result = Pkg({"sign", copy.string(), "--key", Pub().string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_EQ(Pkg({"verify", copy.string(), "--key", Pub().string()}).status, kSignature);
  result = Pkg({"sign", copy.string(), "--key", Key().string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_EQ(Pkg({"verify", copy.string(), "--key", Pub().string()}).status, kOk);
  EXPECT_EQ(Listing(dir_.path()), std::set<std::string>{"unsigned.uhupkg"});
}

// --- extract ---------------------------------------------------------------------------------

TEST_F(PkgCli, ExtractByFileNameAndBySha256) {
  const fs::path package = TestPackagesDir() / "signed.uhupkg";
  const fs::path out = dir_ / "out";
  RunResult result = Pkg({"extract", package.string(), "--to", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_EQ(ReadFile(out / "metadata"), ReadFile(TestPackagesDir() / "signed.metadata.json"));
  EXPECT_TRUE(Base64Decode(ReadFile(out / "signature")));
  EXPECT_EQ(Listing(out),
            (std::set<std::string>{"metadata", "signature", "rootfs.img", "data.tar.gz"}));
  const json metadata = json::parse(ReadFile(out / "metadata"));
  ExpectExtractedObjects(out, metadata, false);
  for (const char* name : {"rootfs.img", "data.tar.gz"}) {
    EXPECT_THAT(result.out, HasSubstr(uh::testing::TestObjectSha256("signed.uhupkg", name)));
  }

  const fs::path by_sha = dir_ / "by-sha";
  result = Pkg({"extract", package.string(), "--to", by_sha.string(), "--by-sha256"});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  std::set<std::string> expected = {"metadata", "signature"};
  for (const json& object : metadata["objects"][0]) expected.insert(object["sha256sum"]);
  ExpectExtractedObjects(by_sha, metadata, true);
  EXPECT_EQ(Listing(by_sha), expected);
  EXPECT_EQ(ReadFile(by_sha / "metadata"), ReadFile(out / "metadata"));
}

TEST_F(PkgCli, ExtractNeverWritesOutsideTheDirectory) {
  File("image.img", "image");
  const fs::path desc = File("pkg.json", R"({"product": ")" + kCliProduct + R"(", "version": "1",
    "objects": [{"file": "image.img", "filename": "../escape", "mode": "raw", "target": "/dev/a"}]
  })");
  const fs::path package = Create("pkg.uhupkg", {"--from", desc.string(), "--single-set"});
  const fs::path out = dir_ / "out";
  const RunResult result = Pkg({"extract", package.string(), "--to", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
  EXPECT_EQ(ReadFile(out / Sha256Hex("image")), "image");
}

// Object names fall back to the sha256 when a file name is taken; that fallback must not land on
// a name an earlier object already used.
TEST_F(PkgCli, ExtractKeepsEveryObjectWhenNamesCollide) {
  const std::string second = "second object";
  const std::string name = Sha256Hex(second);
  const fs::path a = File("a/" + name, "first object");
  const fs::path b = File("b/" + name, second);
  const fs::path package = Create("pkg.uhupkg", {"--version", "1", "--single-set", "--object",
                                                 a.string() + ",mode=raw,target=/dev/a", "--object",
                                                 b.string() + ",mode=raw,target=/dev/b"});
  const fs::path out = dir_ / "out";
  const RunResult result = Pkg({"extract", package.string(), "--to", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  std::set<std::string> contents;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string file = entry.path().filename();
    if (file != "metadata" && file != "signature") contents.insert(ReadFile(entry.path()));
  }
  EXPECT_EQ(contents, (std::set<std::string>{"first object", second}))
      << "an extracted object was overwritten by another";
}

}  // namespace
}  // namespace uh::tools::cli_test
