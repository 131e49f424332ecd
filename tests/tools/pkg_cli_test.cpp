// Runs the real updatehub-pkg binary and checks its exit statuses, output and files.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using uh::testing::ConformanceDir;
using uh::testing::PkgTool;
using uh::testing::ReadFile;
using uh::testing::RunResult;
using uh::testing::TempDir;
using uh::testing::WriteFile;

constexpr int kOk = 0;
constexpr int kError = 1;
constexpr int kUsage = 2;
constexpr int kMalformed = 3;
constexpr int kSignature = 4;

const std::string kCliProduct = "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";
const std::string kSignedUid = "3aa90e49ffe81f4d5c524f6e5037fd28771906515a0d8ec5e7e736b89dccabea";
const std::string kCompressedUid =
    "e54f686bf83d9d500c4c0cb7b799af295227c6d87a3e04c58b91a560e2e736d0";

std::string Describe(const RunResult& result) {
  return "status " + std::to_string(result.status) + "\nstdout: " + result.out +
         "\nstderr: " + result.err;
}

// The names in a directory, to check that a failed command left nothing behind.
std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

class PkgCli : public ::testing::Test {
 protected:
  static RunResult Pkg(std::vector<std::string> args) {
    args.insert(args.begin(), PkgTool().string());
    return uh::testing::Run(args);
  }

  fs::path File(const std::string& name, std::string_view content) const {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    WriteFile(path, content);
    return path;
  }

  // `inspect --json` of a package, parsed.
  static json Inspect(const fs::path& package) {
    const RunResult result = Pkg({"inspect", "--json", package.string()});
    EXPECT_EQ(result.status, kOk) << Describe(result);
    return json::parse(result.out);
  }

  // Creates a package signed with the conformance key; returns its path.
  fs::path Create(const std::string& name, std::vector<std::string> args) const {
    const fs::path out = dir_ / name;
    std::vector<std::string> argv = {"create",       "--product", kCliProduct, "--key",
                                     Key().string(), "-o",        out.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult result = Pkg(argv);
    EXPECT_EQ(result.status, kOk) << Describe(result);
    return out;
  }

  // Copies a conformance package into the test directory (they are read-only).
  fs::path CopyOf(const std::string& name) const {
    const fs::path copy = dir_ / name;
    WriteFile(copy, ReadFile(ConformanceDir() / name));
    return copy;
  }

  static fs::path Key() { return ConformanceDir() / "key.pem"; }
  static fs::path Pub() { return ConformanceDir() / "key.pub"; }

  TempDir dir_;
};

// --- keygen ----------------------------------------------------------------------------------

TEST_F(PkgCli, KeygenWritesAPrivateKeyOnlyTheOwnerReadsAndAPublicKey) {
  const fs::path keys = dir_ / "keys";
  RunResult result = Pkg({"keygen", "--out", keys.string(), "--bits", "2048"});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("fingerprint"));
  const std::string private_pem = ReadFile(keys / "key.pem");
  const std::string public_pem = ReadFile(keys / "key.pub");
  EXPECT_THAT(private_pem, HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_THAT(public_pem, HasSubstr("BEGIN PUBLIC KEY"));
  EXPECT_EQ(fs::status(keys / "key.pem").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string openssl_text =
      uh::testing::Run(
          {"openssl", "pkey", "-pubin", "-in", (keys / "key.pub").string(), "-text", "-noout"})
          .out;
  EXPECT_THAT(openssl_text, HasSubstr("2048 bit"));

  // A second keygen must not replace the pair.
  result = Pkg({"keygen", "--out", keys.string(), "--bits", "2048"});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--force"));
  EXPECT_EQ(ReadFile(keys / "key.pem"), private_pem);
  EXPECT_EQ(ReadFile(keys / "key.pub"), public_pem);
  EXPECT_EQ(Listing(keys), (std::set<std::string>{"key.pem", "key.pub"}));

  // The new key signs packages that verify with its public key only.
  const fs::path image = File("image.img", "image");
  const fs::path out = dir_ / "out.uhupkg";
  result = Pkg({"create", "--product", kCliProduct, "--version", "1", "--key",
                (keys / "key.pem").string(), "--object", image.string() + ",mode=raw,target=/dev/x",
                "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_EQ(Pkg({"verify", out.string(), "--key", (keys / "key.pub").string()}).status, kOk);
  EXPECT_EQ(Pkg({"verify", out.string(), "--key", Pub().string()}).status, kSignature);
}

TEST_F(PkgCli, KeygenForceReplacesTheKeyPair) {
  File("keys/key.pem", "old private");
  File("keys/key.pub", "old public");
  RunResult result = Pkg({"keygen", "--out", (dir_ / "keys").string(), "--bits", "2048"});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_EQ(ReadFile(dir_ / "keys" / "key.pem"), "old private");
  result = Pkg({"keygen", "--out", (dir_ / "keys").string(), "--bits", "2048", "--force"});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(ReadFile(dir_ / "keys" / "key.pem"), HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_THAT(ReadFile(dir_ / "keys" / "key.pub"), HasSubstr("BEGIN PUBLIC KEY"));
  EXPECT_EQ(fs::status(dir_ / "keys" / "key.pem").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(PkgCli, KeygenRefusesWeakKeysAsAUsageError) {
  const RunResult result = Pkg({"keygen", "--out", dir_.path().string(), "--bits", "1024"});
  EXPECT_EQ(result.status, kUsage) << Describe(result);
  EXPECT_FALSE(fs::exists(dir_ / "key.pem"));
}

// --- create ----------------------------------------------------------------------------------

TEST_F(PkgCli, CreateWithTwoSetsHardwareAndTwoModes) {
  const std::string rootfs = uh::testing::RandomBytes(70000, 5);
  const std::string app = uh::testing::RandomBytes(3000, 6);
  const fs::path rootfs_path = File("rootfs.img", rootfs);
  const fs::path app_path = File("app.tar.gz", app);
  const fs::path out = dir_ / "pkg.uhupkg";
  const RunResult created =
      Pkg({"create", "--product", kCliProduct, "--version", "1.2.3", "--hardware", "a",
           "--hardware", "b", "--object",
           rootfs_path.string() + ",mode=raw,target=/dev/x,b.target=/dev/y", "--object",
           app_path.string() + ",mode=tarball,filesystem=ext4,target=/dev/z,target-path=/app",
           "--key", Key().string(), "-o", out.string()});
  ASSERT_EQ(created.status, kOk) << Describe(created);
  EXPECT_THAT(created.out, HasSubstr("signed: yes"));

  const RunResult verified = Pkg({"verify", out.string(), "--key", Pub().string()});
  EXPECT_EQ(verified.status, kOk) << Describe(verified);
  EXPECT_THAT(verified.out, HasSubstr("signature: verified"));

  const json info = Inspect(out);
  ASSERT_TRUE(info.contains("uid"));
  EXPECT_TRUE(IsLowerHexSha256(info["uid"].get<std::string>()));
  EXPECT_THAT(created.out, HasSubstr("uid: " + info["uid"].get<std::string>()));
  EXPECT_EQ(info["product"], json(kCliProduct));
  EXPECT_EQ(info["version"], json("1.2.3"));
  EXPECT_EQ(info["supported-hardware"], json({"a", "b"}));
  EXPECT_EQ(info["signed"], json(true));
  EXPECT_EQ(info["size"], json(rootfs.size() + app.size()));
  ASSERT_EQ(info["objects"].size(), 2u);
  for (const json& set : info["objects"]) {
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0]["mode"], json("raw"));
    EXPECT_EQ(set[0]["filename"], json("rootfs.img"));
    EXPECT_EQ(set[0]["size"], json(rootfs.size()));
    EXPECT_EQ(set[0]["sha256sum"], json(Sha256Hex(rootfs)));
    EXPECT_FALSE(set[0].contains("compressed"));
    EXPECT_EQ(set[1]["mode"], json("tarball"));
    EXPECT_EQ(set[1]["filename"], json("app.tar.gz"));
    EXPECT_EQ(set[1]["size"], json(app.size()));
    EXPECT_EQ(set[1]["sha256sum"], json(Sha256Hex(app)));
    EXPECT_EQ(set[1]["filesystem"], json("ext4"));
    EXPECT_EQ(set[1]["target"], json("/dev/z"));
    EXPECT_EQ(set[1]["target-path"], json("/app"));
  }
  EXPECT_EQ(info["objects"][0][0]["target"], json("/dev/x"));
  EXPECT_EQ(info["objects"][1][0]["target"], json("/dev/y"));
}

TEST_F(PkgCli, CreatedMetadataIsCanonicalAndItsSignatureVerifiesWithOpenssl) {
  const fs::path image = File("image.img", uh::testing::RandomBytes(4096, 7));
  const fs::path package = Create(
      "pkg.uhupkg",
      {"--version", "2.0", "--object", image.string() + ",mode=raw,target=/dev/x,b.target=/dev/y"});
  const fs::path out = dir_ / "extracted";
  const RunResult extracted = Pkg({"extract", package.string(), "--to", out.string()});
  ASSERT_EQ(extracted.status, kOk) << Describe(extracted);

  const std::string metadata = ReadFile(out / "metadata");
  EXPECT_EQ(metadata.find('\n'), std::string::npos);
  EXPECT_TRUE(metadata.starts_with(R"({"objects": [[{"chunk-size": 131072, "count": -1, )"))
      << metadata;
  EXPECT_EQ(Sha256Hex(metadata), Inspect(package)["uid"].get<std::string>());

  auto signature = Base64Decode(ReadFile(out / "signature"));
  ASSERT_TRUE(signature) << signature.error().message();
  EXPECT_EQ(signature->size(), 256u);  // RSA-2048
  const fs::path sig = dir_ / "sig.bin";
  WriteFile(sig, *signature);
  const RunResult openssl =
      uh::testing::Run({"openssl", "dgst", "-sha256", "-verify", Pub().string(), "-signature",
                        sig.string(), (out / "metadata").string()});
  EXPECT_EQ(openssl.status, 0) << Describe(openssl);
  EXPECT_THAT(openssl.out, HasSubstr("Verified OK"));
}

TEST_F(PkgCli, CreateDetectsCompressionInRawModeOnly) {
  std::string content;
  for (int i = 0; content.size() < 200000; ++i) content += "line " + std::to_string(i) + "\n";
  const fs::path plain = File("image.img", content);
  ASSERT_EQ(uh::testing::Run({"gzip", "-k", "-n", plain.string()}).status, 0);
  ASSERT_EQ(uh::testing::Run({"xz", "-k", plain.string()}).status, 0);
  ASSERT_EQ(uh::testing::Run({"zstd", "-q", "-k", plain.string()}).status, 0);
  const fs::path tarball = dir_ / "app.tar.gz";
  fs::copy_file(dir_ / "image.img.gz", tarball);

  const fs::path package =
      Create("pkg.uhupkg",
             {"--version", "1", "--single-set", "--object",
              (dir_ / "image.img.gz").string() + ",mode=raw,target=/dev/a", "--object",
              (dir_ / "image.img.xz").string() + ",mode=raw,target=/dev/b", "--object",
              (dir_ / "image.img.zst").string() + ",mode=raw,target=/dev/c", "--object",
              plain.string() + ",mode=raw,target=/dev/d", "--object",
              tarball.string() + ",mode=tarball,filesystem=ext4,target=/dev/e,target-path=/"});
  EXPECT_EQ(Pkg({"verify", package.string(), "--key", Pub().string()}).status, kOk);
  const json info = Inspect(package);
  ASSERT_EQ(info["objects"].size(), 1u);
  const json& set = info["objects"][0];
  ASSERT_EQ(set.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(set[i]["filename"].dump());
    EXPECT_EQ(set[i]["compressed"], json(true));
    EXPECT_EQ(set[i]["required-uncompressed-size"], json(content.size()));
    EXPECT_LT(set[i]["size"].get<std::uint64_t>(), content.size());
  }
  EXPECT_FALSE(set[3].contains("compressed"));
  EXPECT_FALSE(set[3].contains("required-uncompressed-size"));
  EXPECT_EQ(set[4]["filename"], json("app.tar.gz"));
  EXPECT_FALSE(set[4].contains("compressed"));
  EXPECT_FALSE(set[4].contains("required-uncompressed-size"));
}

TEST_F(PkgCli, SingleSet) {
  const fs::path image = File("image.img", "image");
  const fs::path package = Create("single.uhupkg", {"--version", "1", "--single-set", "--object",
                                                    image.string() + ",mode=raw,target=/dev/a"});
  const json info = Inspect(package);
  ASSERT_EQ(info["objects"].size(), 1u);
  EXPECT_EQ(info["supported-hardware"], json("any"));
  EXPECT_THAT(Pkg({"inspect", package.string()}).out, HasSubstr("set (single)"));

  const fs::path bad = dir_ / "bad.uhupkg";
  const RunResult result =
      Pkg({"create", "--product", kCliProduct, "--version", "1", "--single-set", "--key",
           Key().string(), "--object", image.string() + ",mode=raw,target=/dev/a,b.target=/dev/b",
           "-o", bad.string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("single-set"));
  EXPECT_FALSE(fs::exists(bad));
}

TEST_F(PkgCli, CreateFromTomlAndJsonDescriptions) {
  File("desc/images/rootfs.img", "rootfs A");
  File("desc/images/rootfs-b.img", "rootfs B!");
  File("desc/app.conf", "conf");
  const fs::path toml = File("desc/pkg.toml", R"(product = ")" + kCliProduct + R"("
version = "1.0"
supported-hardware = ["board-a", "board-b"]

[[objects]]
file = "images/rootfs.img"
mode = "raw"
target = "/dev/mmcblk0p2"
chunk-size = 4096

[objects.b]
target = "/dev/mmcblk0p3"
file = "images/rootfs-b.img"

[[objects]]
file = "app.conf"
mode = "copy"
filesystem = "ext4"
target = "/dev/mmcblk0p4"
target-path = "/etc/app.conf"
target-mode = "0640"
target-uid = 0
target-gid = "root"
format = true
)");
  const fs::path json_file = File("desc/pkg.json", R"({
  "product": ")" + kCliProduct + R"(",
  "version": "1.0",
  "supported-hardware": ["board-a", "board-b"],
  "objects": [
    {"file": "images/rootfs.img", "mode": "raw", "target": "/dev/mmcblk0p2", "chunk-size": 4096,
     "b": {"target": "/dev/mmcblk0p3", "file": "images/rootfs-b.img"}},
    {"file": "app.conf", "mode": "copy", "filesystem": "ext4", "target": "/dev/mmcblk0p4",
     "target-path": "/etc/app.conf", "target-mode": "0640", "target-uid": 0,
     "target-gid": "root", "format?": true}
  ]
})");
  // Both descriptions say the same thing, so they make the same metadata (the same UID).
  const fs::path from_toml = Create("toml.uhupkg", {"--from", toml.string()});
  const fs::path from_json = Create("json.uhupkg", {"--from", json_file.string()});
  const json info = Inspect(from_toml);
  EXPECT_EQ(Inspect(from_json), info);
  EXPECT_EQ(info["version"], json("1.0"));
  EXPECT_EQ(info["supported-hardware"], json({"board-a", "board-b"}));
  ASSERT_EQ(info["objects"].size(), 2u);
  const json& a = info["objects"][0];
  const json& b = info["objects"][1];
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[0]["target"], json("/dev/mmcblk0p2"));
  EXPECT_EQ(a[0]["sha256sum"], json(Sha256Hex("rootfs A")));
  EXPECT_EQ(a[0]["chunk-size"], json(4096));
  EXPECT_EQ(b[0]["target"], json("/dev/mmcblk0p3"));
  EXPECT_EQ(b[0]["sha256sum"], json(Sha256Hex("rootfs B!")));
  EXPECT_EQ(b[0]["filename"], json("rootfs.img"));
  EXPECT_EQ(b[0]["chunk-size"], json(4096));
  const json copy = {{"mode", "copy"},
                     {"filename", "app.conf"},
                     {"size", 4},
                     {"sha256sum", Sha256Hex("conf")},
                     {"filesystem", "ext4"},
                     {"target", "/dev/mmcblk0p4"},
                     {"target-type", "device"},
                     {"target-path", "/etc/app.conf"},
                     {"target-mode", "0640"},
                     {"target-uid", 0},
                     {"target-gid", "root"},
                     {"format?", true}};
  EXPECT_EQ(a[1], copy);
  EXPECT_EQ(b[1], copy);
  EXPECT_EQ(Pkg({"verify", from_toml.string(), "--key", Pub().string()}).status, kOk);

  // The command line overrides the description.
  const fs::path overridden =
      Create("override.uhupkg", {"--from", toml.string(), "--version", "9.9"});
  EXPECT_EQ(Inspect(overridden)["version"], json("9.9"));
  const fs::path any = Create("any.uhupkg", {"--from", json_file.string(), "--hardware", "any"});
  EXPECT_EQ(Inspect(any)["supported-hardware"], json("any"));
}

TEST_F(PkgCli, CreateFromADescriptionWithErrorsNamesTheFile) {
  const fs::path desc = File("bad.toml", "version = \"1\"\nproduct-uid = \"x\"\n");
  const RunResult result =
      Pkg({"create", "--from", desc.string(), "--unsigned", "-o", (dir_ / "out.uhupkg").string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("bad.toml"));
  EXPECT_THAT(result.err, HasSubstr("product-uid"));
  EXPECT_FALSE(fs::exists(dir_ / "out.uhupkg"));
  // --from must exist: that is a usage error.
  EXPECT_EQ(Pkg({"create", "--from", (dir_ / "none.toml").string(), "--unsigned", "-o",
                 (dir_ / "out.uhupkg").string()})
                .status,
            kUsage);
}

TEST_F(PkgCli, UnsignedPackagesNeedToBeAskedFor) {
  const fs::path image = File("image.img", "image");
  const fs::path out = dir_ / "pkg.uhupkg";
  RunResult result = Pkg({"create", "--product", kCliProduct, "--version", "1", "--object",
                          image.string() + ",mode=raw,target=/dev/a", "-o", out.string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--key"));
  EXPECT_FALSE(fs::exists(out));

  result = Pkg({"create", "--product", kCliProduct, "--version", "1", "--object",
                image.string() + ",mode=raw,target=/dev/a", "--unsigned", "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("signed: no"));
  result = Pkg({"verify", out.string()});
  EXPECT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("unsigned"));
  result = Pkg({"verify", out.string(), "--key", Pub().string()});
  EXPECT_EQ(result.status, kSignature) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("not signed"));
  EXPECT_EQ(Inspect(out)["signed"], json(false));
}

TEST_F(PkgCli, CreateRejectsInvalidObjectsAndLeavesNoFile) {
  const fs::path image = File("image.img", "image");
  const std::string f = image.string();
  struct Case {
    std::string object;
    std::string field;
  };
  const std::vector<Case> cases = {
      {f + ",mode=nonsense,target=/dev/a", "mode"},
      {f + ",mode=raw,target=/dev/a,chunk-size=abc", "chunk-size"},
      {f + ",mode=copy,filesystem=ext4,target=/dev/a,target-path=/x,target-mode=999",
       "target-mode"},
      {f + ",mode=raw", "'target'"},
      {f + ",mode=raw,target=/dev/a,size=5", "'size'"},
      {f + ",mode=raw,target=/dev/a,truncate=maybe", "truncate"},
      {f + ",mode=raw,target=/dev/a,filesystem=ext4", "filesystem"},
      {(dir_ / "missing.img").string() + ",mode=raw,target=/dev/a", "missing.img"},
      {"mode=raw,target=/dev/a", "no file"},
  };
  const auto before = Listing(dir_.path());
  const fs::path out = dir_ / "out.uhupkg";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.object);
    const RunResult result = Pkg({"create", "--product", kCliProduct, "--version", "1", "--key",
                                  Key().string(), "--object", c.object, "-o", out.string()});
    EXPECT_EQ(result.status, kError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("updatehub-pkg: error: "));
    EXPECT_THAT(result.err, HasSubstr(c.field));
    EXPECT_EQ(Listing(dir_.path()), before);
  }
}

TEST_F(PkgCli, CreateRejectsBadTopLevelValues) {
  const fs::path image = File("image.img", "image");
  const fs::path out = dir_ / "out.uhupkg";
  auto create = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"create",   "--unsigned",
                                     "-o",       out.string(),
                                     "--object", image.string() + ",mode=raw,target=/dev/a"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Pkg(argv);
  };
  RunResult result = create({"--version", "1"});
  EXPECT_EQ(result.status, kError);
  EXPECT_THAT(result.err, HasSubstr("--product"));
  result = create({"--product", kCliProduct});
  EXPECT_EQ(result.status, kError);
  EXPECT_THAT(result.err, HasSubstr("--version"));
  result = create({"--product", "DA852E7F", "--version", "1"});
  EXPECT_EQ(result.status, kError);
  EXPECT_THAT(result.err, HasSubstr("product"));
  result =
      create({"--product", kCliProduct, "--version", "1", "--hardware", "a", "--hardware", "a"});
  EXPECT_EQ(result.status, kError);
  EXPECT_THAT(result.err, HasSubstr("twice"));
  result = create({"--product", kCliProduct, "--version", "1", "--key", Pub().string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("private key"));
  EXPECT_FALSE(fs::exists(out));
  // -o is required.
  EXPECT_EQ(Pkg({"create", "--product", kCliProduct, "--version", "1", "--unsigned"}).status,
            kUsage);
}

// A description file is user input: a wrongly typed value must be reported, not crash the tool.
TEST_F(PkgCli, CreateReportsAWronglyTypedValueInADescription) {
  File("image.img", "image");
  const fs::path desc = File("pkg.json", R"({"product": ")" + kCliProduct + R"(", "version": "1",
    "objects": [{"file": "image.img", "mode": "raw", "target": "/dev/a", "compressed": "yes"}]})");
  const RunResult result =
      Pkg({"create", "--from", desc.string(), "--unsigned", "-o", (dir_ / "out.uhupkg").string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("compressed"));
}

// A broken input image is the user's problem, not a malformed package: status 1, not 3.
TEST_F(PkgCli, CreateWithABrokenCompressedImageIsAnInputError) {
  const fs::path plain = File("image.img", uh::testing::RandomBytes(100000, 11));
  ASSERT_EQ(uh::testing::Run({"gzip", "-n", plain.string()}).status, 0);
  const std::string gz = ReadFile(dir_ / "image.img.gz");
  const fs::path truncated = File("broken.img.gz", gz.substr(0, gz.size() / 2));
  const fs::path out = dir_ / "out.uhupkg";
  const RunResult result =
      Pkg({"create", "--product", kCliProduct, "--version", "1", "--key", Key().string(),
           "--object", truncated.string() + ",mode=raw,target=/dev/a", "-o", out.string()});
  EXPECT_THAT(result.err, HasSubstr("broken.img.gz"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(result.status, kError) << Describe(result);
}

// --- verify, inspect, sign, extract on uhu's packages -----------------------------------------

TEST_F(PkgCli, VerifyConformancePackages) {
  const fs::path dir = ConformanceDir();
  for (const char* name : {"signed.uhupkg", "compressed.uhupkg"}) {
    const RunResult result = Pkg({"verify", (dir / name).string(), "--key", Pub().string()});
    EXPECT_EQ(result.status, kOk) << name << ": " << Describe(result);
    EXPECT_THAT(result.out, HasSubstr(": OK"));
    EXPECT_THAT(result.out, HasSubstr("signature: verified"));
  }
  RunResult result = Pkg({"verify", (dir / "signed.uhupkg").string()});
  EXPECT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("not checked"));
  EXPECT_THAT(result.out, HasSubstr("uid: " + kSignedUid));

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
  const RunResult result = Pkg({"verify", (ConformanceDir() / "signed.uhupkg").string(), "--key",
                                (dir_ / "other.pub").string()});
  EXPECT_EQ(result.status, kSignature) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("does not verify"));
}

TEST_F(PkgCli, VerifyDetectsACorruptedObject) {
  const fs::path copy = CopyOf("signed.uhupkg");
  const fs::path objects = dir_ / "objects";
  ASSERT_EQ(Pkg({"extract", copy.string(), "--to", objects.string()}).status, kOk);
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
  const std::string bytes = ReadFile(ConformanceDir() / "signed.uhupkg");
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
  const fs::path package = ConformanceDir() / "signed.uhupkg";
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

TEST_F(PkgCli, InspectShowsTheUid) {
  RunResult result = Pkg({"inspect", (ConformanceDir() / "signed.uhupkg").string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(kSignedUid));
  EXPECT_THAT(result.out, HasSubstr("board-a, board-b"));
  EXPECT_THAT(result.out, HasSubstr("rootfs.img"));
  EXPECT_THAT(result.out, HasSubstr("set A"));
  EXPECT_THAT(result.out, HasSubstr("set B"));
  result = Pkg({"inspect", (ConformanceDir() / "compressed.uhupkg").string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(kCompressedUid));
  EXPECT_THAT(result.out, HasSubstr("hardware: any"));

  const json info = Inspect(ConformanceDir() / "compressed.uhupkg");
  EXPECT_EQ(info["uid"], json(kCompressedUid));
  EXPECT_EQ(info["version"], json("2.0.0-rc1"));
  EXPECT_EQ(info["objects"][1][1]["target"], json("/dev/mmcblk0p6"));
  EXPECT_EQ(info["objects"][0][1]["chunk-size"], json(4096));
  // The metadata part of the JSON is the package's metadata.
  json metadata = info;
  for (const char* key : {"uid", "signed", "size"}) metadata.erase(key);
  EXPECT_EQ(metadata, json::parse(ReadFile(ConformanceDir() / "compressed.metadata.json")));
}

TEST_F(PkgCli, SignAnUnsignedPackage) {
  const fs::path out = dir_ / "resigned.uhupkg";
  const RunResult result = Pkg({"sign", (ConformanceDir() / "unsigned.uhupkg").string(), "--key",
                                Key().string(), "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("uid: " + kSignedUid));
  const RunResult verified = Pkg({"verify", out.string(), "--key", Pub().string()});
  EXPECT_EQ(verified.status, kOk) << Describe(verified);
  EXPECT_THAT(verified.out, HasSubstr("uid: " + kSignedUid));
  EXPECT_EQ(Inspect(out)["uid"], json(kSignedUid));

  // PKCS#1 v1.5 is deterministic: the same key over the same metadata gives uhu's signature.
  ASSERT_EQ(Pkg({"extract", out.string(), "--to", (dir_ / "ours").string()}).status, kOk);
  ASSERT_EQ(Pkg({"extract", (ConformanceDir() / "signed.uhupkg").string(), "--to",
                 (dir_ / "uhu").string()})
                .status,
            kOk);
  auto ours = Base64Decode(ReadFile(dir_ / "ours" / "signature"));
  auto uhu = Base64Decode(ReadFile(dir_ / "uhu" / "signature"));
  ASSERT_TRUE(ours && uhu);
  EXPECT_EQ(*ours, *uhu);
  EXPECT_EQ(ReadFile(dir_ / "ours" / "metadata"), ReadFile(dir_ / "uhu" / "metadata"));

  // The input is left alone.
  EXPECT_EQ(
      Pkg({"verify", (ConformanceDir() / "unsigned.uhupkg").string(), "--key", Pub().string()})
          .status,
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

TEST_F(PkgCli, ExtractByFileNameAndBySha256) {
  const fs::path package = ConformanceDir() / "signed.uhupkg";
  const fs::path out = dir_ / "out";
  RunResult result = Pkg({"extract", package.string(), "--to", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_EQ(ReadFile(out / "metadata"), ReadFile(ConformanceDir() / "signed.metadata.json"));
  EXPECT_TRUE(Base64Decode(ReadFile(out / "signature")));
  EXPECT_EQ(Listing(out),
            (std::set<std::string>{"metadata", "signature", "rootfs.img", "data.tar.gz"}));
  const json metadata = json::parse(ReadFile(out / "metadata"));
  for (const json& object : metadata["objects"][0]) {
    const std::string name = object["filename"];
    const std::string content = ReadFile(out / name);
    EXPECT_EQ(content.size(), object["size"].get<std::size_t>()) << name;
    EXPECT_EQ(Sha256Hex(content), object["sha256sum"].get<std::string>()) << name;
    EXPECT_THAT(result.out, HasSubstr(object["sha256sum"].get<std::string>()));
  }

  const fs::path by_sha = dir_ / "by-sha";
  result = Pkg({"extract", package.string(), "--to", by_sha.string(), "--by-sha256"});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  std::set<std::string> expected = {"metadata", "signature"};
  for (const json& object : metadata["objects"][0]) {
    const std::string sha256 = object["sha256sum"];
    expected.insert(sha256);
    EXPECT_EQ(Sha256Hex(ReadFile(by_sha / sha256)), sha256);
  }
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

// --- command line ----------------------------------------------------------------------------

TEST_F(PkgCli, UsageErrors) {
  RunResult result = Pkg({});
  EXPECT_EQ(result.status, kUsage) << Describe(result);
  result = Pkg({"frobnicate"});
  EXPECT_EQ(result.status, kUsage) << Describe(result);
  result = Pkg({"verify"});
  EXPECT_EQ(result.status, kUsage) << Describe(result);
  result = Pkg({"verify", "a.uhupkg", "--no-such-option"});
  EXPECT_EQ(result.status, kUsage) << Describe(result);
  result = Pkg({"--help"});
  EXPECT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("keygen"));
  EXPECT_THAT(result.out, HasSubstr("create"));
}

}  // namespace
}  // namespace uh::tools
