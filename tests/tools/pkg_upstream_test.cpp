// Conformance with upstream's uhu: updatehub-pkg verifies, inspects, extracts and re-signs the
// packages uhu made, and create remakes their metadata byte for byte from their objects. Skipped
// when the upstream packages are missing (failed with CI=true): see UH_UPSTREAM_PACKAGES.

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

// The same fixture, under its own name so that the upstream tests are easy to pick out.
class PkgUpstream : public PkgCli {};

// The objects of upstream's signed package, given to create out of order (and the hardware
// too), make uhu's metadata byte for byte: the same UID, and the same signature with its key.
TEST_F(PkgUpstream, CreateRemakesUpstreamsSignedPackage) {
  UH_UPSTREAM_PACKAGES(upstream);
  const fs::path objects = Extracted(upstream / "signed.uhupkg", "objects");
  const std::string metadata = ReadFile(upstream / "signed.metadata.json");
  const fs::path out = dir_ / "remade.uhupkg";
  const RunResult result =
      Pkg({"create", "--product", kCliProduct, "--version", "1.0.0", "--hardware",
           "board-b,board-a", "--object",
           (objects / "rootfs.img").string() + ",mode=raw,target=/dev/mmcblk0p2", "--object",
           (objects / "data.tar.gz").string() +
               ",mode=tarball,filesystem=ext4,target=/dev/mmcblk0p3,target-path=/data",
           "--key", (upstream / "key.pem").string(), "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("uid: " + Sha256Hex(metadata)));
  const fs::path remade = Extracted(out, "remade");
  EXPECT_EQ(ReadFile(remade / "metadata"), metadata);
  auto ours = Base64Decode(ReadFile(remade / "signature"));
  auto uhu = Base64Decode(ReadFile(objects / "signature"));
  ASSERT_TRUE(ours && uhu);
  EXPECT_EQ(*ours, *uhu);
}

// The same for the compressed package, from a description: compression and the uncompressed
// sizes are found as uhu finds them.
TEST_F(PkgUpstream, CreateRemakesUpstreamsCompressedPackageFromADescription) {
  UH_UPSTREAM_PACKAGES(upstream);
  const fs::path objects = Extracted(upstream / "compressed.uhupkg", "objects");
  const std::string metadata = ReadFile(upstream / "compressed.metadata.json");
  const fs::path desc = File("objects/pkg.json", R"({"product": ")" + kCliProduct + R"(",
    "version": "2.0.0-rc1", "supported-hardware": "any",
    "objects": [
      {"file": "kernel.img.gz", "mode": "raw", "target": "/dev/mmcblk0p5", "chunk-size": 4096,
       "seek": 2, "b": {"target": "/dev/mmcblk0p6"}},
      {"file": "boot.img.xz", "mode": "raw", "target": "/dev/mmcblk0p1",
       "install-if-different": "sha256sum", "truncate": true}
    ]})");
  const fs::path out = dir_ / "remade.uhupkg";
  const RunResult result = Pkg({"create", "--from", desc.string(), "--key",
                                (upstream / "key.pem").string(), "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("uid: " + Sha256Hex(metadata)));
  const fs::path remade = Extracted(out, "remade");
  EXPECT_EQ(ReadFile(remade / "metadata"), metadata);
  auto ours = Base64Decode(ReadFile(remade / "signature"));
  auto uhu = Base64Decode(ReadFile(objects / "signature"));
  ASSERT_TRUE(ours && uhu);
  EXPECT_EQ(*ours, *uhu);
}

TEST_F(PkgUpstream, VerifyAcceptsUpstreamsPackages) {
  UH_UPSTREAM_PACKAGES(upstream);
  const fs::path pub = upstream / "key.pub";
  for (const char* name : {"signed", "compressed"}) {
    const fs::path package = upstream / (std::string(name) + ".uhupkg");
    const RunResult result = Pkg({"verify", package.string(), "--key", pub.string()});
    EXPECT_EQ(result.status, kOk) << name << ": " << Describe(result);
    EXPECT_THAT(result.out, HasSubstr(": OK"));
    EXPECT_THAT(result.out, HasSubstr("signature: verified"));
    const std::string uid = Sha256Hex(ReadFile(upstream / (std::string(name) + ".metadata.json")));
    EXPECT_THAT(result.out, HasSubstr("uid: " + uid));
  }
  RunResult result =
      Pkg({"verify", (upstream / "unsigned.uhupkg").string(), "--key", pub.string()});
  EXPECT_EQ(result.status, kSignature) << Describe(result);
  result = Pkg({"verify", (upstream / "unsigned.uhupkg").string()});
  EXPECT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("unsigned"));
}

TEST_F(PkgUpstream, InspectUpstreamsPackages) {
  UH_UPSTREAM_PACKAGES(upstream);
  for (const char* name : {"signed", "compressed"}) {
    SCOPED_TRACE(name);
    const std::string metadata_bytes = ReadFile(upstream / (std::string(name) + ".metadata.json"));
    const json info = Inspect(upstream / (std::string(name) + ".uhupkg"));
    EXPECT_EQ(info["uid"], json(Sha256Hex(metadata_bytes)));
    EXPECT_EQ(info["signed"], json(true));
    json metadata = info;
    for (const char* key : {"uid", "signed", "size"}) metadata.erase(key);
    EXPECT_EQ(metadata, json::parse(metadata_bytes));
  }
  const RunResult result = Pkg({"inspect", (upstream / "signed.uhupkg").string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("board-a, board-b"));
  EXPECT_THAT(result.out, HasSubstr("data.tar.gz"));
}

TEST_F(PkgUpstream, SignUpstreamsUnsignedPackageGivesUpstreamsSignature) {
  UH_UPSTREAM_PACKAGES(upstream);
  const fs::path out = dir_ / "resigned.uhupkg";
  const RunResult result = Pkg({"sign", (upstream / "unsigned.uhupkg").string(), "--key",
                                (upstream / "key.pem").string(), "-o", out.string()});
  ASSERT_EQ(result.status, kOk) << Describe(result);
  const std::string uid = Sha256Hex(ReadFile(upstream / "signed.metadata.json"));
  EXPECT_THAT(result.out, HasSubstr("uid: " + uid));
  EXPECT_EQ(Pkg({"verify", out.string(), "--key", (upstream / "key.pub").string()}).status, kOk);

  // PKCS#1 v1.5 is deterministic: the same key over the same metadata gives uhu's signature.
  const fs::path ours = Extracted(out, "ours");
  const fs::path uhu = Extracted(upstream / "signed.uhupkg", "uhu");
  auto ours_signature = Base64Decode(ReadFile(ours / "signature"));
  auto uhu_signature = Base64Decode(ReadFile(uhu / "signature"));
  ASSERT_TRUE(ours_signature && uhu_signature);
  EXPECT_EQ(*ours_signature, *uhu_signature);
  EXPECT_EQ(ReadFile(ours / "metadata"), ReadFile(upstream / "signed.metadata.json"));
}

TEST_F(PkgUpstream, ExtractUpstreamsPackages) {
  UH_UPSTREAM_PACKAGES(upstream);
  for (const char* name : {"signed", "compressed"}) {
    SCOPED_TRACE(name);
    const fs::path out = Extracted(upstream / (std::string(name) + ".uhupkg"), name);
    const std::string metadata = ReadFile(upstream / (std::string(name) + ".metadata.json"));
    EXPECT_EQ(ReadFile(out / "metadata"), metadata);
    EXPECT_TRUE(Base64Decode(ReadFile(out / "signature")));
    ExpectExtractedObjects(out, json::parse(metadata), false);
  }
}

}  // namespace
}  // namespace uh::tools::cli_test
