// Runs the real updatehub-pkg binary and checks its exit statuses, output and files: keygen,
// create and the command line. verify, inspect, sign and extract are in
// pkg_cli_package_test.cpp, the conformance with upstream's uhu in pkg_upstream_test.cpp.

#include <sys/stat.h>

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
  // Sorted by file name, as uhu writes them: app.tar.gz before rootfs.img.
  for (const json& set : info["objects"]) {
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0]["mode"], json("tarball"));
    EXPECT_EQ(set[0]["filename"], json("app.tar.gz"));
    EXPECT_EQ(set[0]["size"], json(app.size()));
    EXPECT_EQ(set[0]["sha256sum"], json(Sha256Hex(app)));
    EXPECT_EQ(set[0].value("filesystem", ""), "ext4");
    EXPECT_EQ(set[0].value("target", ""), "/dev/z");
    EXPECT_EQ(set[0].value("target-path", ""), "/app");
    EXPECT_EQ(set[1]["mode"], json("raw"));
    EXPECT_EQ(set[1]["filename"], json("rootfs.img"));
    EXPECT_EQ(set[1]["size"], json(rootfs.size()));
    EXPECT_EQ(set[1]["sha256sum"], json(Sha256Hex(rootfs)));
    EXPECT_FALSE(set[1].contains("compressed"));
  }
  EXPECT_EQ(info["objects"][0][1]["target"], json("/dev/x"));
  EXPECT_EQ(info["objects"][1][1]["target"], json("/dev/y"));
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
  // Sorted by file name: app.tar.gz, image.img, image.img.gz, image.img.xz, image.img.zst.
  ASSERT_EQ(set.size(), 5u);
  EXPECT_EQ(set[0]["filename"], json("app.tar.gz"));
  EXPECT_FALSE(set[0].contains("compressed"));
  EXPECT_FALSE(set[0].contains("required-uncompressed-size"));
  EXPECT_EQ(set[1]["filename"], json("image.img"));
  EXPECT_FALSE(set[1].contains("compressed"));
  EXPECT_FALSE(set[1].contains("required-uncompressed-size"));
  for (int i = 2; i < 5; ++i) {
    SCOPED_TRACE(set[i]["filename"].dump());
    EXPECT_EQ(set[i].value("compressed", false), true);
    EXPECT_EQ(set[i].value("required-uncompressed-size", 0u), content.size());
    EXPECT_LT(set[i]["size"].get<std::uint64_t>(), content.size());
  }
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
  // Sorted by file name: app.conf before rootfs.img.
  EXPECT_EQ(a[1]["target"], json("/dev/mmcblk0p2"));
  EXPECT_EQ(a[1]["sha256sum"], json(Sha256Hex("rootfs A")));
  EXPECT_EQ(a[1]["chunk-size"], json(4096));
  EXPECT_EQ(b[1]["target"], json("/dev/mmcblk0p3"));
  EXPECT_EQ(b[1]["sha256sum"], json(Sha256Hex("rootfs B!")));
  EXPECT_EQ(b[1]["filename"], json("rootfs.img"));
  EXPECT_EQ(b[1]["chunk-size"], json(4096));
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
  EXPECT_EQ(a[0], copy);
  EXPECT_EQ(b[0], copy);
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

// Readers refuse metadata over 1 MiB, so create does too, before it writes anything. Each "é"
// (2 bytes in the description) is "\u00e9" (6 bytes) in the canonical metadata, in both sets:
// 100,000 of them make a 200 kB description and 1.2 MB of metadata.
TEST_F(PkgCli, CreateRefusesMetadataOverOneMiBAndLeavesNoFile) {
  File("image.img", "image");
  std::string path = "/data/";
  for (int i = 0; i < 100000; ++i) path += "\xc3\xa9";
  const json object = {{"file", "image.img"},
                       {"mode", "tarball"},
                       {"filesystem", "ext4"},
                       {"target", "/dev/a"},
                       {"target-path", path}};
  const json description = {
      {"product", kCliProduct}, {"version", "1"}, {"objects", json::array({object})}};
  File("pkg.json", description.dump());
  const auto before = Listing(dir_.path());
  const RunResult result = Pkg({"create", "--from", (dir_ / "pkg.json").string(), "--key",
                                Key().string(), "-o", (dir_ / "out.uhupkg").string()});
  EXPECT_EQ(result.status, kError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("updatehub-pkg: error: the metadata would be "));
  EXPECT_THAT(result.err, HasSubstr("more than the 1 MiB readers accept"));
  EXPECT_EQ(Listing(dir_.path()), before);
}

// --- create orders the metadata as uhu does --------------------------------------------------

// Objects given in any order make the same metadata, so the same UID and signature: sorted by
// file name, byte-wise ("Mid" before "alpha"), set B entries following their objects.
TEST_F(PkgCli, CreateSortsObjectsByFileNameLikeUhu) {
  const fs::path zeta = File("zeta.img", "zeta");
  const fs::path alpha = File("alpha.img", "alpha");
  const fs::path mid = File("Mid.img", "mid");
  const std::string z = zeta.string() + ",mode=raw,target=/dev/z,b.target=/dev/zb";
  const std::string a = alpha.string() + ",mode=raw,target=/dev/a,b.target=/dev/ab";
  const std::string m = mid.string() + ",mode=raw,target=/dev/m,b.target=/dev/mb";
  const fs::path sorted =
      Create("sorted.uhupkg", {"--version", "1", "--object", m, "--object", a, "--object", z});
  const fs::path shuffled =
      Create("shuffled.uhupkg", {"--version", "1", "--object", z, "--object", m, "--object", a});
  const json info = Inspect(shuffled);
  EXPECT_EQ(info["uid"], Inspect(sorted)["uid"]);
  ASSERT_EQ(info["objects"].size(), 2u);
  const std::vector<std::string> names = {"Mid.img", "alpha.img", "zeta.img"};
  const std::vector<std::string> targets = {"/dev/m", "/dev/a", "/dev/z"};
  for (std::size_t set = 0; set < 2; ++set) {
    ASSERT_EQ(info["objects"][set].size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(info["objects"][set][i]["filename"], json(names[i]));
      EXPECT_EQ(info["objects"][set][i]["target"], json(targets[i] + (set == 1 ? "b" : "")));
    }
  }
  const fs::path out_sorted = Extracted(sorted, "sorted");
  const fs::path out_shuffled = Extracted(shuffled, "shuffled");
  EXPECT_EQ(ReadFile(out_shuffled / "metadata"), ReadFile(out_sorted / "metadata"));
  EXPECT_EQ(ReadFile(out_shuffled / "signature"), ReadFile(out_sorted / "signature"));
}

TEST_F(PkgCli, CreateTakesCommaSeparatedHardwareSortedAndOnce) {
  const fs::path image = File("image.img", "image");
  const std::string object = image.string() + ",mode=raw,target=/dev/a";
  auto uid_with = [&](const std::string& name, std::vector<std::string> hardware) {
    std::vector<std::string> args = {"--version", "1", "--object", object};
    for (const auto& value : hardware) args.insert(args.end(), {"--hardware", value});
    const json info = Inspect(Create(name, args));
    EXPECT_EQ(info["supported-hardware"], json({"a", "b"})) << name;
    return info["uid"];
  };
  const json uid = uid_with("list.uhupkg", {"b,a,a"});
  EXPECT_EQ(uid_with("repeated.uhupkg", {"b", "a"}), uid);
  EXPECT_EQ(uid_with("both.uhupkg", {"a", "b,a"}), uid);
  EXPECT_EQ(uid_with("sorted.uhupkg", {"a,b"}), uid);
  const fs::path any =
      Create("any.uhupkg", {"--version", "1", "--object", object, "--hardware", "any"});
  EXPECT_EQ(Inspect(any)["supported-hardware"], json("any"));
}

// A description file is ordered like the command line: out of order and with repeated hardware,
// it makes the metadata of the sorted command line.
TEST_F(PkgCli, CreateFromADescriptionSortsLikeUhu) {
  File("desc/b.img", "b");
  File("desc/a.img", "a");
  const fs::path toml = File("desc/pkg.toml", R"(product = ")" + kCliProduct + R"("
version = "1"
supported-hardware = ["y", "x", "y"]

[[objects]]
file = "b.img"
mode = "raw"
target = "/dev/b"

[[objects]]
file = "a.img"
mode = "raw"
target = "/dev/a"
)");
  const fs::path json_file = File("desc/pkg.json", R"({"product": ")" + kCliProduct + R"(",
    "version": "1", "supported-hardware": ["y", "x"],
    "objects": [{"file": "b.img", "mode": "raw", "target": "/dev/b"},
                {"file": "a.img", "mode": "raw", "target": "/dev/a"}]})");
  const json from_toml = Inspect(Create("toml.uhupkg", {"--from", toml.string()}));
  const json from_json = Inspect(Create("json.uhupkg", {"--from", json_file.string()}));
  const json from_cli = Inspect(
      Create("cli.uhupkg", {"--version", "1", "--hardware", "x,y", "--object",
                            (dir_ / "desc/a.img").string() + ",mode=raw,target=/dev/a", "--object",
                            (dir_ / "desc/b.img").string() + ",mode=raw,target=/dev/b"}));
  EXPECT_EQ(from_toml["supported-hardware"], json({"x", "y"}));
  EXPECT_EQ(from_toml["objects"][0][0]["filename"], json("a.img"));
  EXPECT_EQ(from_toml["uid"], from_cli["uid"]);
  EXPECT_EQ(from_json["uid"], from_cli["uid"]);
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
}  // namespace uh::tools::cli_test
