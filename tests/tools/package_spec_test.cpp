#include "tools/pkg/package_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/hash.hpp"
#include "package/metadata.hpp"
#include "support/test_support.hpp"

namespace uh::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using uh::testing::TempDir;

const std::string kProduct(64, 'c');

ObjectSpec MustParse(std::string_view text) {
  auto spec = ParseObjectSpec(text);
  if (!spec) {
    ADD_FAILURE() << "rejected '" << text << "': " << spec.error().message();
    return {};
  }
  return *spec;
}

std::string ParseError(std::string_view text) {
  auto spec = ParseObjectSpec(text);
  if (spec) {
    ADD_FAILURE() << "accepted '" << text << "': file " << spec->file << ", fields "
                  << spec->fields.dump() << ", b " << spec->b_fields.dump();
    return "";
  }
  return spec.error().message();
}

// --- ParseObjectSpec -------------------------------------------------------------------------

TEST(ParseObjectSpec, TypesValuesByField) {
  const ObjectSpec spec = MustParse(
      "rootfs.img,mode=raw,target=/dev/mmcblk0p2,chunk-size=4096,skip=1,seek=2,count=-1,"
      "truncate=true,compressed=false,required-uncompressed-size=10,target-type=device");
  EXPECT_EQ(spec.file, "rootfs.img");
  EXPECT_EQ(spec.fields["mode"], json("raw"));
  EXPECT_EQ(spec.fields["target"], json("/dev/mmcblk0p2"));
  EXPECT_EQ(spec.fields["chunk-size"], json(4096));
  EXPECT_TRUE(spec.fields["chunk-size"].is_number_integer());
  EXPECT_EQ(spec.fields["skip"], json(1));
  EXPECT_EQ(spec.fields["seek"], json(2));
  EXPECT_EQ(spec.fields["count"], json(-1));
  EXPECT_EQ(spec.fields["truncate"], json(true));
  EXPECT_EQ(spec.fields["compressed"], json(false));
  EXPECT_EQ(spec.fields["required-uncompressed-size"], json(10));
  EXPECT_EQ(spec.fields["target-type"], json("device"));
  EXPECT_TRUE(spec.b_fields.empty());
}

TEST(ParseObjectSpec, BooleansAcceptTheUsualSpellings) {
  for (const char* text : {"true", "yes", "1"}) {
    EXPECT_EQ(MustParse(std::string("f,truncate=") + text).fields["truncate"], json(true)) << text;
  }
  for (const char* text : {"false", "no", "0"}) {
    EXPECT_EQ(MustParse(std::string("f,truncate=") + text).fields["truncate"], json(false)) << text;
  }
  EXPECT_EQ(MustParse("f,1k_padding=yes").fields["1k_padding"], json(true));
  EXPECT_THAT(ParseError("f,truncate=maybe"), HasSubstr("'truncate'"));
  EXPECT_THAT(ParseError("f,compressed=TRUE"), HasSubstr("'compressed'"));
}

TEST(ParseObjectSpec, IntegersMustBeWholeNumbers) {
  EXPECT_EQ(MustParse("f,search_exponent=2").fields["search_exponent"], json(2));
  for (const char* bad : {"abc", "12k", "", "1.5", "0x10", " 4"}) {
    EXPECT_THAT(ParseError(std::string("f,chunk-size=") + bad), HasSubstr("'chunk-size'")) << bad;
  }
  EXPECT_THAT(ParseError("f,count=all"), HasSubstr("'count'"));
}

TEST(ParseObjectSpec, OwnersAreNumericIdsOrNames) {
  const ObjectSpec spec = MustParse("f,mode=copy,target-uid=0,target-gid=wheel");
  EXPECT_TRUE(spec.fields["target-uid"].is_number_integer());
  EXPECT_EQ(spec.fields["target-uid"], json(0));
  EXPECT_TRUE(spec.fields["target-gid"].is_string());
  EXPECT_EQ(spec.fields["target-gid"], json("wheel"));
  EXPECT_EQ(MustParse("f,target-uid=1000").fields["target-uid"], json(1000));
  EXPECT_EQ(MustParse("f,target-uid=root").fields["target-uid"], json("root"));
  // Strings that only start with digits stay names.
  EXPECT_EQ(MustParse("f,target-uid=1000x").fields["target-uid"], json("1000x"));
}

TEST(ParseObjectSpec, OtherFieldsStayStrings) {
  const ObjectSpec spec = MustParse("f,target-mode=0644,filesystem=ext4,target-path=/0");
  EXPECT_EQ(spec.fields["target-mode"], json("0644"));
  EXPECT_EQ(spec.fields["filesystem"], json("ext4"));
  EXPECT_EQ(spec.fields["target-path"], json("/0"));
  // Only the first '=' separates key and value.
  EXPECT_EQ(MustParse("f,mount-options=uid=0").fields["mount-options"], json("uid=0"));
}

TEST(ParseObjectSpec, InstallIfDifferentIsAStringOrAJsonObject) {
  EXPECT_EQ(MustParse("f,install-if-different=sha256sum").fields["install-if-different"],
            json("sha256sum"));
  const ObjectSpec spec =
      MustParse(R"(f,install-if-different={"version": "1.2"\, "pattern": "u-boot"})");
  const json expected = {{"version", "1.2"}, {"pattern", "u-boot"}};
  EXPECT_EQ(spec.fields["install-if-different"], expected);
  const ObjectSpec custom = MustParse(
      R"x(f,install-if-different={"version": "2"\, "pattern": {"regexp": "v(.*)"\, "seek": 8}})x");
  EXPECT_EQ(custom.fields["install-if-different"]["pattern"]["seek"], json(8));
  EXPECT_FALSE(ParseObjectSpec(R"(f,install-if-different={"version")"));
}

TEST(ParseObjectSpec, BackslashCommaIsALiteralComma) {
  const ObjectSpec spec = MustParse(R"(my\,image.img,mode=copy,mount-options=ro\,noatime)");
  EXPECT_EQ(spec.file, "my,image.img");
  EXPECT_EQ(spec.fields["mount-options"], json("ro,noatime"));
  // Other backslashes are kept as they are.
  EXPECT_EQ(MustParse(R"(f,target-path=/a\b)").fields["target-path"], json(R"(/a\b)"));
}

TEST(ParseObjectSpec, EmptyItemsAreIgnored) {
  const ObjectSpec spec = MustParse(",f,,mode=raw,");
  EXPECT_EQ(spec.file, "f");
  EXPECT_EQ(spec.fields, json({{"mode", "raw"}}));
}

TEST(ParseObjectSpec, BPrefixedKeysGoToSetB) {
  const ObjectSpec spec = MustParse(
      "f,mode=raw,target=/dev/a,b.target=/dev/b,b.seek=3,b.truncate=yes,b.target-uid=7,"
      "b.file=other.img");
  EXPECT_EQ(spec.fields["target"], json("/dev/a"));
  EXPECT_FALSE(spec.fields.contains("seek"));
  EXPECT_EQ(spec.b_fields["target"], json("/dev/b"));
  EXPECT_EQ(spec.b_fields["seek"], json(3));  // typed like the field itself
  EXPECT_EQ(spec.b_fields["truncate"], json(true));
  EXPECT_EQ(spec.b_fields["target-uid"], json(7));
  EXPECT_EQ(spec.b_fields["file"], json("other.img"));
  EXPECT_EQ(spec.file, "f");
}

TEST(ParseObjectSpec, FormatStandsForFormatQuestionMark) {
  const ObjectSpec spec = MustParse("f,mode=copy,format=true,b.format=no,format-options=-F");
  EXPECT_EQ(spec.fields["format?"], json(true));
  EXPECT_FALSE(spec.fields.contains("format"));
  EXPECT_EQ(spec.b_fields["format?"], json(false));
  EXPECT_FALSE(spec.b_fields.contains("format"));
  EXPECT_EQ(MustParse("f,format?=1").fields["format?"], json(true));
  EXPECT_THAT(ParseError("f,format=sometimes"), HasSubstr("'format?'"));
}

TEST(ParseObjectSpec, FileMayBeGivenAsFileKey) {
  const ObjectSpec spec = MustParse("mode=raw,file=images/root\\,fs.img,target=/dev/x");
  EXPECT_EQ(spec.file, "images/root,fs.img");
  EXPECT_FALSE(spec.fields.contains("file"));
}

TEST(ParseObjectSpec, NoFileIsAnError) {
  EXPECT_THAT(ParseError("mode=raw,target=/dev/x"), HasSubstr("no file"));
  EXPECT_THAT(ParseError(""), HasSubstr("no file"));
  // A set B file alone does not name the object's file.
  EXPECT_THAT(ParseError("mode=raw,b.file=x"), HasSubstr("no file"));
}

TEST(ParseObjectSpec, TwoBareFilesAreAnError) {
  const std::string message = ParseError("a.img,b.img,mode=raw");
  EXPECT_THAT(message, HasSubstr("two files"));
  EXPECT_THAT(message, HasSubstr("a.img"));
  EXPECT_THAT(message, HasSubstr("b.img"));
  EXPECT_THAT(ParseError("file=a.img,b.img"), HasSubstr("two files"));
}

// A bare file followed by file=, or file= twice, silently keeps the last file instead of
// reporting two files like "file=a,b" does.
TEST(ParseObjectSpec, TwoFilesInAnyFormAreAnError) {
  EXPECT_FALSE(ParseObjectSpec("a.img,file=b.img,mode=raw"))
      << "the bare file a.img was silently replaced by b.img";
  EXPECT_FALSE(ParseObjectSpec("file=a.img,file=b.img,mode=raw"))
      << "file=a.img was silently replaced by b.img";
}

TEST(ParseObjectSpec, ComputedFieldsCannotBeGiven) {
  EXPECT_THAT(ParseError("f,mode=raw,size=5"), HasSubstr("'size'"));
  EXPECT_THAT(ParseError("f,mode=raw,size=5"), HasSubstr("computed"));
  EXPECT_THAT(ParseError("f,sha256sum=" + std::string(64, 'a')), HasSubstr("'sha256sum'"));
  EXPECT_THAT(ParseError("f,b.size=5"), HasSubstr("'size'"));
}

// --- LoadPackageSpec -------------------------------------------------------------------------

class LoadPackageSpecTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, std::string_view text) {
    const auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    testing::WriteFile(path, text);
    return path;
  }
  std::string ErrorOf(const std::filesystem::path& path) {
    auto spec = LoadPackageSpec(path);
    if (spec) {
      ADD_FAILURE() << "accepted " << path;
      return "";
    }
    return spec.error().message();
  }

  TempDir dir_;
};

TEST_F(LoadPackageSpecTest, Toml) {
  const auto path = Write("desc/pkg.toml", R"(
product = ")" + kProduct + R"("
version = "3.1"
supported-hardware = ["board-a", "board-b"]

[[objects]]
file = "images/rootfs.img"
mode = "raw"
target = "/dev/mmcblk0p2"
chunk-size = 4096
truncate = true
b = { target = "/dev/mmcblk0p3", file = "images/rootfs-b.img", format = false }

[[objects]]
file = "/abs/app.tar.gz"
mode = "tarball"
filesystem = "ext4"
target = "/dev/mmcblk0p4"
target-path = "/app"
format = true
)");
  auto spec = LoadPackageSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->product, kProduct);
  EXPECT_EQ(spec->version, "3.1");
  ASSERT_TRUE(spec->hardware);
  EXPECT_EQ(*spec->hardware, (std::vector<std::string>{"board-a", "board-b"}));
  EXPECT_FALSE(spec->single_set);
  ASSERT_EQ(spec->objects.size(), 2u);
  const ObjectSpec& raw = spec->objects[0];
  EXPECT_EQ(raw.file, dir_.path() / "desc" / "images/rootfs.img");
  EXPECT_EQ(raw.fields["mode"], json("raw"));
  EXPECT_EQ(raw.fields["target"], json("/dev/mmcblk0p2"));
  EXPECT_EQ(raw.fields["chunk-size"], json(4096));
  EXPECT_EQ(raw.fields["truncate"], json(true));
  EXPECT_FALSE(raw.fields.contains("file"));
  EXPECT_FALSE(raw.fields.contains("b"));
  EXPECT_EQ(raw.b_fields["target"], json("/dev/mmcblk0p3"));
  EXPECT_EQ(raw.b_fields["file"], json((dir_.path() / "desc" / "images/rootfs-b.img").string()));
  EXPECT_EQ(raw.b_fields["format?"], json(false));
  const ObjectSpec& tarball = spec->objects[1];
  EXPECT_EQ(tarball.file, "/abs/app.tar.gz");  // absolute paths are kept
  EXPECT_EQ(tarball.fields["format?"], json(true));
  EXPECT_FALSE(tarball.fields.contains("format"));
}

TEST_F(LoadPackageSpecTest, Json) {
  const auto path = Write("pkg.json", R"({
    "product": ")" + kProduct + R"(",
    "version": "1.0",
    "supported-hardware": "any",
    "single-set": true,
    "objects": [
      {"file": "a.img", "mode": "raw", "target": "/dev/x", "target-uid": 5,
       "install-if-different": {"version": "1", "pattern": "linux-kernel"}}
    ]
  })");
  auto spec = LoadPackageSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->product, kProduct);
  EXPECT_EQ(spec->version, "1.0");
  EXPECT_FALSE(spec->hardware);
  EXPECT_TRUE(spec->single_set);
  ASSERT_EQ(spec->objects.size(), 1u);
  EXPECT_EQ(spec->objects[0].file, dir_.path() / "a.img");
  EXPECT_EQ(spec->objects[0].fields["target-uid"], json(5));
  EXPECT_EQ(spec->objects[0].fields["install-if-different"]["pattern"], json("linux-kernel"));
  EXPECT_TRUE(spec->objects[0].b_fields.empty());
}

TEST_F(LoadPackageSpecTest, AnyExtensionButTomlIsJson) {
  const auto path = Write("pkg.desc", R"({"version": "2", "hardware": ["x"]})");
  auto spec = LoadPackageSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->version, "2");
  ASSERT_TRUE(spec->hardware);
  EXPECT_EQ(*spec->hardware, std::vector<std::string>{"x"});
}

TEST_F(LoadPackageSpecTest, Errors) {
  EXPECT_THAT(ErrorOf(Write("unknown.json", R"({"product-uid": "x"})")),
              HasSubstr("'product-uid'"));
  EXPECT_THAT(ErrorOf(Write("version.json", R"({"version": 2})")), HasSubstr("'version'"));
  EXPECT_THAT(ErrorOf(Write("hw.json", R"({"supported-hardware": "all"})")),
              HasSubstr("'supported-hardware'"));
  EXPECT_THAT(ErrorOf(Write("hw2.json", R"({"supported-hardware": [1]})")),
              HasSubstr("'supported-hardware'"));
  EXPECT_THAT(ErrorOf(Write("single.json", R"({"single-set": "yes"})")), HasSubstr("'single-set'"));
  EXPECT_THAT(ErrorOf(Write("objects.json", R"({"objects": {"file": "a"}})")),
              HasSubstr("'objects'"));
  EXPECT_THAT(ErrorOf(Write("nofile.json", R"({"objects": [{"mode": "raw"}]})")),
              HasSubstr("no 'file'"));
  EXPECT_THAT(ErrorOf(Write("size.json", R"({"objects": [{"file": "a", "size": 5}]})")),
              HasSubstr("'size'"));
  EXPECT_THAT(ErrorOf(Write("bsize.json", R"({"objects": [{"file": "a", "b": {"size": 5}}]})")),
              HasSubstr("'size'"));
  EXPECT_THAT(ErrorOf(Write("index.json", R"({"objects": [{"file": "a"}, {"mode": "raw"}]})")),
              HasSubstr("objects[1]"));
  EXPECT_THAT(ErrorOf(Write("array.json", R"(["product"])")), HasSubstr("table"));
  EXPECT_FALSE(LoadPackageSpec(Write("syntax.json", R"({"version": )")));
  EXPECT_FALSE(LoadPackageSpec(dir_ / "missing.json"));
  // TOML: syntax errors carry the line; floats are not metadata values.
  EXPECT_THAT(ErrorOf(Write("syntax.toml", "version = \"1\"\nproduct = \n")), HasSubstr(":2"));
  EXPECT_THAT(ErrorOf(Write("float.toml", "[[objects]]\nfile = \"a\"\nchunk-size = 1.5\n")),
              HasSubstr("float"));
}

// --- BuildPackage ----------------------------------------------------------------------------

class BuildPackageTest : public ::testing::Test {
 protected:
  std::filesystem::path File(const std::string& name, std::string_view content) {
    const auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    testing::WriteFile(path, content);
    return path;
  }
  PackageSpec Spec(std::vector<std::string> objects, bool single_set = false) {
    PackageSpec spec;
    spec.product = kProduct;
    spec.version = "1.0";
    spec.single_set = single_set;
    for (const auto& text : objects) {
      auto object = ParseObjectSpec(text);
      EXPECT_TRUE(object) << text << ": " << object.error().message();
      if (object) spec.objects.push_back(*object);
    }
    return spec;
  }
  BuiltPackage MustBuild(const PackageSpec& spec) {
    auto built = BuildPackage(spec);
    if (!built) {
      ADD_FAILURE() << built.error().message();
      return {};
    }
    return *built;
  }
  std::string BuildError(const PackageSpec& spec) {
    auto built = BuildPackage(spec);
    if (built) {
      ADD_FAILURE() << "built: " << package::SerializeMetadata(built->metadata);
      return "";
    }
    return built.error().message();
  }
  // The object as it will appear in the metadata.
  static json Written(const BuiltPackage& built, std::size_t set, std::size_t index) {
    if (set >= built.metadata.sets.size() || index >= built.metadata.sets[set].size()) {
      ADD_FAILURE() << "no object " << set << "/" << index;
      return json::object();
    }
    return package::ToJson(built.metadata.sets[set][index]);
  }

  TempDir dir_;
};

TEST_F(BuildPackageTest, RawGetsComputedFieldsAndUhuDefaults) {
  const std::string content = testing::RandomBytes(5000, 3);
  const auto file = File("rootfs.img", content);
  const BuiltPackage built = MustBuild(Spec({file.string() + ",mode=raw,target=/dev/x"}));
  ASSERT_EQ(built.metadata.sets.size(), 2u);
  const json expected = {{"mode", "raw"},
                         {"filename", "rootfs.img"},
                         {"size", 5000},
                         {"sha256sum", Sha256Hex(content)},
                         {"target", "/dev/x"},
                         {"target-type", "device"},
                         {"chunk-size", 131072},
                         {"skip", 0},
                         {"seek", 0},
                         {"count", -1},
                         {"truncate", false}};
  EXPECT_EQ(Written(built, 0, 0), expected);
  EXPECT_EQ(Written(built, 1, 0), expected);
  EXPECT_EQ(built.metadata.product, kProduct);
  EXPECT_EQ(built.metadata.version, "1.0");
  EXPECT_FALSE(built.metadata.supported_hardware);
  EXPECT_EQ(built.total_size, 5000u);
  ASSERT_EQ(built.files.size(), 1u);
  EXPECT_EQ(built.files[0].first, Sha256Hex(content));
  EXPECT_EQ(built.files[0].second, file);
}

TEST_F(BuildPackageTest, UserValuesWinOverDefaults) {
  const auto file = File("rootfs.img", "data");
  const BuiltPackage built = MustBuild(
      Spec({file.string() + ",mode=raw,target=/dev/x,chunk-size=4096,seek=2,count=10,truncate=1"},
           true));
  const json object = Written(built, 0, 0);
  EXPECT_EQ(object["chunk-size"], json(4096));
  EXPECT_EQ(object["seek"], json(2));
  EXPECT_EQ(object["skip"], json(0));
  EXPECT_EQ(object["count"], json(10));
  EXPECT_EQ(object["truncate"], json(true));
}

TEST_F(BuildPackageTest, TarballGetsFormatAndTargetTypeButNoCompression) {
  // Gzip magic: a tarball's compression is libarchive's business, not the metadata's.
  const auto file = File("app.tar.gz", std::string("\x1f\x8b\x08\x00", 4) + "rest");
  const BuiltPackage built = MustBuild(
      Spec({file.string() + ",mode=tarball,filesystem=ext4,target=/dev/z,target-path=/app"}, true));
  const json object = Written(built, 0, 0);
  EXPECT_EQ(object["format?"], json(false));
  EXPECT_EQ(object["target-type"], json("device"));
  EXPECT_FALSE(object.contains("compressed"));
  EXPECT_FALSE(object.contains("required-uncompressed-size"));
  EXPECT_FALSE(object.contains("chunk-size"));
  EXPECT_EQ(object["size"], json(8));
}

TEST_F(BuildPackageTest, CopyGetsFormatDefault) {
  const auto file = File("app.conf", "x=1\n");
  const BuiltPackage built = MustBuild(
      Spec({file.string() +
            ",mode=copy,filesystem=vfat,target=/dev/z,target-path=/etc/app.conf,target-mode=0640,"
            "target-uid=0,target-gid=daemon"},
           true));
  const auto& object = built.metadata.sets[0][0];
  EXPECT_EQ(object.format, false);
  EXPECT_EQ(object.target_type, package::TargetType::kDevice);
  EXPECT_EQ(object.target_mode, "0640");
  ASSERT_TRUE(object.target_uid);
  EXPECT_EQ(std::get<std::int64_t>(*object.target_uid), 0);
  ASSERT_TRUE(object.target_gid);
  EXPECT_EQ(std::get<std::string>(*object.target_gid), "daemon");
  EXPECT_FALSE(object.compressed);
}

TEST_F(BuildPackageTest, InstallIfDifferentReachesTheModel) {
  const auto file = File("u-boot.bin", "boot");
  const BuiltPackage built = MustBuild(Spec(
      {file.string() + R"(,mode=raw,target=/dev/x,install-if-different={"version": "2020.1"\, )"
                       R"("pattern": "u-boot"})"},
      true));
  const auto& condition = built.metadata.sets[0][0].install_if_different;
  ASSERT_TRUE(condition);
  EXPECT_EQ(condition->kind, package::InstallIfDifferent::Kind::kUBoot);
  EXPECT_EQ(condition->version, "2020.1");
}

TEST_F(BuildPackageTest, SetBOverridesAndItsOwnFile) {
  const auto a = File("rootfs.img", "slot a content");
  const auto b = File("b/rootfs.img", "slot b content, longer");
  const BuiltPackage built = MustBuild(
      Spec({a.string() + ",mode=raw,target=/dev/a,b.target=/dev/b,b.seek=1,b.file=" + b.string()}));
  const json first = Written(built, 0, 0);
  const json second = Written(built, 1, 0);
  EXPECT_EQ(first["target"], json("/dev/a"));
  EXPECT_EQ(second["target"], json("/dev/b"));
  EXPECT_EQ(first["seek"], json(0));
  EXPECT_EQ(second["seek"], json(1));
  EXPECT_EQ(first["sha256sum"], json(Sha256Hex("slot a content")));
  EXPECT_EQ(second["sha256sum"], json(Sha256Hex("slot b content, longer")));
  EXPECT_EQ(second["size"], json(22));
  EXPECT_EQ(first["filename"], second["filename"]);
  ASSERT_EQ(built.files.size(), 2u);
  EXPECT_EQ(built.files[1].second, b);
  EXPECT_EQ(built.total_size, 14u + 22u);
}

TEST_F(BuildPackageTest, SameFileTwiceIsListedOnce) {
  const auto file = File("rootfs.img", testing::RandomBytes(1000, 9));
  const BuiltPackage built = MustBuild(
      Spec({file.string() + ",mode=raw,target=/dev/a", file.string() + ",mode=raw,target=/dev/b"}));
  ASSERT_EQ(built.metadata.sets.size(), 2u);
  EXPECT_EQ(built.metadata.sets[0].size(), 2u);
  EXPECT_EQ(built.metadata.DistinctObjects().size(), 1u);
  ASSERT_EQ(built.files.size(), 1u);
  EXPECT_EQ(built.files[0].second, file);
  EXPECT_EQ(built.total_size, 1000u);
}

TEST_F(BuildPackageTest, IdenticalContentInTwoFilesIsOneObject) {
  const auto a = File("a.img", "same bytes");
  const auto b = File("b.img", "same bytes");
  const BuiltPackage built = MustBuild(
      Spec({a.string() + ",mode=raw,target=/dev/a", b.string() + ",mode=raw,target=/dev/b"}, true));
  ASSERT_EQ(built.files.size(), 1u);
  EXPECT_EQ(built.total_size, 10u);
}

TEST_F(BuildPackageTest, SingleSet) {
  const auto file = File("f.img", "x");
  const BuiltPackage built = MustBuild(Spec({file.string() + ",mode=raw,target=/dev/a"}, true));
  EXPECT_EQ(built.metadata.sets.size(), 1u);
  EXPECT_THAT(BuildError(Spec({file.string() + ",mode=raw,target=/dev/a,b.target=/dev/b"}, true)),
              HasSubstr("single-set"));
}

// uhu keeps hardware names in a set and writes them sorted; an empty set is "any".
TEST_F(BuildPackageTest, HardwareIsSortedWithRepeatsDropped) {
  const auto file = File("f.img", "x");
  PackageSpec spec = Spec({file.string() + ",mode=raw,target=/dev/a"});
  auto hardware_of = [&](std::vector<std::string> names) {
    spec.hardware = std::move(names);
    return MustBuild(spec).metadata.supported_hardware;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(hardware_of({"a", "b"}), Names({"a", "b"}));
  EXPECT_EQ(hardware_of({"b", "a", "a"}), Names({"a", "b"}));
  EXPECT_EQ(hardware_of({"a", "a"}), Names({"a"}));
  // Byte-wise, as Python sorts str: upper case before lower case.
  EXPECT_EQ(hardware_of({"board-b", "Board-c", "board-a"}),
            Names({"Board-c", "board-a", "board-b"}));
  EXPECT_EQ(hardware_of({}), std::nullopt);
  spec.hardware.reset();
  EXPECT_EQ(MustBuild(spec).metadata.supported_hardware, std::nullopt);
}

// --- the order of objects: uhu's -------------------------------------------------------------

// The file names of a built set, in order.
std::vector<std::string> FileNames(const BuiltPackage& built, std::size_t set) {
  std::vector<std::string> names;
  if (set < built.metadata.sets.size()) {
    for (const auto& object : built.metadata.sets[set]) names.push_back(object.filename);
  }
  return names;
}

TEST_F(BuildPackageTest, ObjectsAreSortedByFileNameInBothSets) {
  const auto c = File("c.img", "c");
  const auto a = File("a.img", "a");
  const auto b = File("b.img", "b");
  const auto b_for_b = File("slot-b/b.img", "b in slot b");
  const BuiltPackage built = MustBuild(Spec({
      c.string() + ",mode=raw,target=/dev/c,b.target=/dev/cb",
      a.string() + ",mode=raw,target=/dev/a,b.target=/dev/ab",
      b.string() + ",mode=raw,target=/dev/b,b.target=/dev/bb,b.file=" + b_for_b.string(),
  }));
  const std::vector<std::string> sorted = {"a.img", "b.img", "c.img"};
  EXPECT_EQ(FileNames(built, 0), sorted);
  EXPECT_EQ(FileNames(built, 1), sorted);
  // Each set B entry moves with its object.
  EXPECT_EQ(Written(built, 0, 1)["target"], json("/dev/b"));
  EXPECT_EQ(Written(built, 1, 1)["target"], json("/dev/bb"));
  EXPECT_EQ(Written(built, 1, 1)["sha256sum"], json(Sha256Hex("b in slot b")));
  EXPECT_EQ(Written(built, 1, 2)["target"], json("/dev/cb"));
  // The package's members follow the metadata.
  std::vector<std::string> members;
  for (const auto& [sha256, path] : built.files) members.push_back(path.filename());
  EXPECT_EQ(members, (std::vector<std::string>{"a.img", "b.img", "c.img", "b.img"}));
  EXPECT_EQ(built.files[3].second, b_for_b);
}

TEST_F(BuildPackageTest, TheOrderGivenDoesNotChangeTheMetadata) {
  const auto rootfs = File("rootfs.img", testing::RandomBytes(3000, 4));
  const auto data = File("data.tar.gz", "data");
  const auto kernel = File("kernel.img", "kernel");
  const std::vector<std::string> objects = {
      rootfs.string() + ",mode=raw,target=/dev/r",
      data.string() + ",mode=tarball,filesystem=ext4,target=/dev/d,target-path=/",
      kernel.string() + ",mode=raw,target=/dev/k,b.target=/dev/kb",
  };
  const BuiltPackage given = MustBuild(Spec(objects));
  const BuiltPackage reversed = MustBuild(Spec({objects[2], objects[1], objects[0]}));
  EXPECT_EQ(package::SerializeMetadata(reversed.metadata),
            package::SerializeMetadata(given.metadata));
  EXPECT_EQ(reversed.files, given.files);
  EXPECT_EQ(FileNames(given, 0),
            (std::vector<std::string>{"data.tar.gz", "kernel.img", "rootfs.img"}));
}

// The key is the metadata's file name, compared byte by byte (Python compares code points, the
// same order for UTF-8): not the path, not the locale, not case-folded.
TEST_F(BuildPackageTest, TheSortKeyIsTheFileNameByteWise) {
  std::vector<std::string> objects;
  int n = 0;
  for (const char* name : {"\xc3\xa9t\xc3\xa9.img", "z.img", "a.img.gz", "a.img", "a-b", "a.b",
                           "B.img", "_x", "1.img"}) {
    const auto file = File("dir" + std::to_string(n++) + "/" + name, name);
    objects.push_back(file.string() + ",mode=raw,target=/dev/x");
  }
  // A "filename" given by the user is the key, not the file's own name.
  const auto renamed = File("zzz/last-by-path.img", "renamed");
  objects.push_back(renamed.string() + ",mode=raw,target=/dev/x,filename=0-first");
  const BuiltPackage built = MustBuild(Spec(objects, true));
  EXPECT_EQ(FileNames(built, 0),
            (std::vector<std::string>{"0-first", "1.img", "B.img", "_x", "a-b", "a.b", "a.img",
                                      "a.img.gz", "z.img", "\xc3\xa9t\xc3\xa9.img"}));
}

// Objects with the same file name keep the order they were given in (Python's sort is stable).
TEST_F(BuildPackageTest, ObjectsWithTheSameFileNameKeepTheirOrder) {
  const auto first = File("one/image.img", "first");
  const auto second = File("two/image.img", "second");
  const auto third = File("three/image.img", "third");
  const auto other = File("another.img", "another");
  auto targets = [](const BuiltPackage& built, std::size_t set) {
    std::vector<std::string> out;
    for (const auto& object : built.metadata.sets[set]) out.push_back(object.target.value_or(""));
    return out;
  };
  BuiltPackage built = MustBuild(Spec({
      second.string() + ",mode=raw,target=/dev/2,b.target=/dev/2b",
      other.string() + ",mode=raw,target=/dev/o,b.target=/dev/ob",
      first.string() + ",mode=raw,target=/dev/1,b.target=/dev/1b",
      third.string() + ",mode=raw,target=/dev/3,b.target=/dev/3b",
  }));
  EXPECT_EQ(targets(built, 0), (std::vector<std::string>{"/dev/o", "/dev/2", "/dev/1", "/dev/3"}));
  EXPECT_EQ(targets(built, 1),
            (std::vector<std::string>{"/dev/ob", "/dev/2b", "/dev/1b", "/dev/3b"}));
  // The same file twice: still in the order given.
  built = MustBuild(
      Spec({first.string() + ",mode=raw,target=/dev/y", first.string() + ",mode=raw,target=/dev/x"},
           true));
  EXPECT_EQ(targets(built, 0), (std::vector<std::string>{"/dev/y", "/dev/x"}));
}

// A description file and the command line go through the same sort.
TEST_F(BuildPackageTest, ADescriptionIsSortedToo) {
  File("desc/b.img", "b");
  File("desc/a.img", "a");
  const auto path = File("desc/pkg.json", R"({"product": ")" + kProduct + R"(", "version": "1",
      "supported-hardware": ["y", "x", "y"],
      "objects": [{"file": "b.img", "mode": "raw", "target": "/dev/b"},
                  {"file": "a.img", "mode": "raw", "target": "/dev/a"}]})");
  auto spec = LoadPackageSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  const BuiltPackage built = MustBuild(*spec);
  EXPECT_EQ(FileNames(built, 0), (std::vector<std::string>{"a.img", "b.img"}));
  EXPECT_EQ(built.metadata.supported_hardware, (std::vector<std::string>{"x", "y"}));
}

TEST_F(BuildPackageTest, CompressedFilesInRawMode) {
  const std::string content(100000, 'z');
  const auto plain = File("image.img", content);
  ASSERT_EQ(testing::Run({"gzip", "-k", "-n", plain.string()}).status, 0);
  const auto gz = dir_ / "image.img.gz";
  BuiltPackage built = MustBuild(Spec({gz.string() + ",mode=raw,target=/dev/a"}, true));
  json object = Written(built, 0, 0);
  EXPECT_EQ(object["compressed"], json(true));
  EXPECT_EQ(object["required-uncompressed-size"], json(100000));
  EXPECT_EQ(object["size"], json(std::filesystem::file_size(gz)));

  // compressed=false is the user's call: no detection, no uncompressed size.
  built = MustBuild(Spec({gz.string() + ",mode=raw,target=/dev/a,compressed=false"}, true));
  object = Written(built, 0, 0);
  EXPECT_EQ(object["compressed"], json(false));
  EXPECT_FALSE(object.contains("required-uncompressed-size"));

  built = MustBuild(Spec({plain.string() + ",mode=raw,target=/dev/a"}, true));
  EXPECT_FALSE(Written(built, 0, 0).contains("compressed"));
}

TEST_F(BuildPackageTest, ProgressCountsHashedBytes) {
  const auto a = File("a.img", std::string(3000, 'a'));
  const auto b = File("b.img", std::string(2000, 'b'));
  PackageSpec spec =
      Spec({a.string() + ",mode=raw,target=/dev/a", b.string() + ",mode=raw,target=/dev/b"});
  EXPECT_EQ(InputBytes(spec), 5000u);
  std::uint64_t last = 0;
  bool monotonic = true;
  auto built = BuildPackage(spec, [&](std::uint64_t done) {
    monotonic = monotonic && done >= last;
    last = done;
  });
  ASSERT_TRUE(built) << built.error().message();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last, 5000u);
}

// The hashing bar's total is known before hashing: every file read once, including set B files
// and files whose bytes another file already has (they are read to find that out).
TEST_F(BuildPackageTest, InputBytesIsWhatHashingReads) {
  const auto a = File("a.img", std::string(3000, 'a'));
  const auto same_as_a = File("copy-of-a.img", std::string(3000, 'a'));
  const auto b = File("b.img", std::string(2000, 'b'));
  const auto slot_b = File("slot-b.img", std::string(700, 's'));
  PackageSpec spec = Spec({
      a.string() + ",mode=raw,target=/dev/a",
      a.string() + ",mode=raw,target=/dev/a2",
      same_as_a.string() + ",mode=raw,target=/dev/c",
      b.string() + ",mode=raw,target=/dev/b,b.file=" + slot_b.string(),
  });
  EXPECT_EQ(InputBytes(spec), 3000u + 3000u + 2000u + 700u);
  std::uint64_t last = 0;
  bool monotonic = true;
  auto built = BuildPackage(spec, [&](std::uint64_t done) {
    monotonic = monotonic && done >= last;
    last = done;
  });
  ASSERT_TRUE(built) << built.error().message();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last, InputBytes(spec));
  EXPECT_EQ(built->total_size, 3000u + 2000u + 700u);  // what the package holds

  // With one set, set B files are not read.
  spec = Spec({b.string() + ",mode=raw,target=/dev/b"}, true);
  spec.objects[0].b_fields["file"] = slot_b.string();
  EXPECT_EQ(InputBytes(spec), 2000u);
  // A missing file counts nothing; BuildPackage reports it.
  spec = Spec({(dir_ / "missing.img").string() + ",mode=raw,target=/dev/a",
               a.string() + ",mode=raw,target=/dev/a"});
  EXPECT_EQ(InputBytes(spec), 3000u);
}

TEST_F(BuildPackageTest, Errors) {
  const auto file = File("f.img", "x");
  const std::string f = file.string();
  EXPECT_THAT(BuildError(Spec({})), HasSubstr("no objects"));
  EXPECT_THAT(BuildError(Spec({f + ",target=/dev/a"})), HasSubstr("no mode"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=nonsense,target=/dev/a"})), HasSubstr("mode"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=nonsense,target=/dev/a"})), HasSubstr("nonsense"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=raw"})), HasSubstr("'target'"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=copy,filesystem=ext4,target=/dev/a,target-path=/x,"
                                   "target-mode=999"})),
              HasSubstr("'target-mode'"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=raw,target=/dev/a,chunk-size=0"})),
              HasSubstr("'chunk-size'"));
  EXPECT_THAT(BuildError(Spec({f + ",mode=raw,target=/dev/a,filesystem=ext4"})),
              HasSubstr("'filesystem'"));
  EXPECT_THAT(BuildError(Spec({(dir_ / "missing.img").string() + ",mode=raw,target=/dev/a"})),
              HasSubstr("missing.img"));
  // The object is named in the message.
  EXPECT_THAT(BuildError(Spec({f + ",mode=raw,target=/dev/a", f + ",mode=raw"})),
              HasSubstr("object 2"));
  PackageSpec bad_product = Spec({f + ",mode=raw,target=/dev/a"});
  bad_product.product = "not-hex";
  EXPECT_THAT(BuildError(bad_product), HasSubstr("'product'"));
}

// A negative id is an integer out of range; saying "expected string or integer, got integer"
// (package/metadata.cpp, ReadOwner) sends the user looking for the wrong mistake.
TEST_F(BuildPackageTest, NegativeOwnerIdSaysWhatIsWrong) {
  const auto file = File("f.conf", "x");
  const std::string message = BuildError(
      Spec({file.string() + ",mode=copy,filesystem=ext4,target=/dev/a,target-path=/x,target-uid=-1,"
                            "target-gid=0"},
           true));
  EXPECT_THAT(message, HasSubstr("'target-uid'"));
  EXPECT_THAT(message, Not(HasSubstr("got integer")));
}

// A description file is user input: a wrongly typed value must be an error, not an exception.
TEST_F(BuildPackageTest, WronglyTypedCompressedFromADescriptionIsAnError) {
  File("f.img", "x");
  const auto path = File("pkg.json", R"({"product": ")" + kProduct + R"(", "version": "1",
      "objects": [{"file": "f.img", "mode": "raw", "target": "/dev/a", "compressed": "yes"}]})");
  auto spec = LoadPackageSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  Expected<BuiltPackage> built = Fail(Errc::kInternal, "not run");
  EXPECT_NO_THROW(built = BuildPackage(*spec));
  ASSERT_FALSE(built);
  EXPECT_THAT(built.error().message(), HasSubstr("'compressed'"));
}

}  // namespace
}  // namespace uh::tools
