#include "package/metadata.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "support/test_support.hpp"

namespace uh::package {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kSha(64, 'a');
const std::string kProduct(64, 'b');

json Raw() {
  return {{"mode", "raw"},     {"filename", "rootfs.img"}, {"size", 10},
          {"sha256sum", kSha}, {"target-type", "device"},  {"target", "/dev/mmcblk0p2"}};
}

json Document(json object) {
  return {{"product", kProduct},
          {"version", "1.0"},
          {"supported-hardware", "any"},
          {"objects", json::array({json::array({std::move(object)})})}};
}

Error ErrorOf(const json& document) {
  auto metadata = MetadataFromJson(document);
  if (metadata) {
    ADD_FAILURE() << "accepted: " << document.dump();
    return Error(Errc::kInternal, "");
  }
  return metadata.error();
}

// Our canonical form is uhu's: upstream's metadata serialises back to the same bytes.
TEST(Metadata, ConformanceMetadataRoundTripsByteForByte) {
  UH_UPSTREAM_PACKAGES(upstream);
  for (const char* name : {"signed.metadata.json", "compressed.metadata.json"}) {
    const std::string bytes = testing::ReadFile(upstream / name);
    auto metadata = ParseMetadata(bytes);
    ASSERT_TRUE(metadata) << name << ": " << metadata.error().message();
    EXPECT_EQ(SerializeMetadata(*metadata), bytes) << name;
  }
}

TEST(Metadata, TestPackageModelHoldsTheFields) {
  auto metadata =
      ParseMetadata(testing::ReadFile(testing::TestPackagesDir() / "compressed.metadata.json"));
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->version, "2.0.0-rc1");
  EXPECT_FALSE(metadata->supported_hardware.has_value());
  EXPECT_TRUE(metadata->SupportsHardware("anything"));
  ASSERT_EQ(metadata->sets.size(), 2u);
  const Object& kernel = metadata->sets[1][1];
  EXPECT_EQ(kernel.mode, Mode::kRaw);
  EXPECT_EQ(kernel.filename, "kernel.img.gz");
  EXPECT_TRUE(kernel.IsCompressed());
  EXPECT_EQ(kernel.InstalledSize(), 300000u);
  EXPECT_EQ(kernel.ChunkSize(), 4096u);
  EXPECT_EQ(kernel.Seek(), 2u);
  EXPECT_EQ(kernel.Count(), -1);
  EXPECT_FALSE(kernel.Truncate());
  EXPECT_EQ(*kernel.target, "/dev/mmcblk0p6");
  ASSERT_TRUE(metadata->sets[0][0].install_if_different);
  EXPECT_EQ(metadata->sets[0][0].install_if_different->kind, InstallIfDifferent::Kind::kSha256sum);
  EXPECT_EQ(metadata->DistinctObjects().size(), 2u);
}

TEST(Metadata, SupportedHardwareList) {
  auto metadata =
      ParseMetadata(testing::ReadFile(testing::TestPackagesDir() / "signed.metadata.json"));
  ASSERT_TRUE(metadata);
  EXPECT_TRUE(metadata->SupportsHardware("board-a"));
  EXPECT_FALSE(metadata->SupportsHardware("board-c"));
}

TEST(Metadata, DefaultsApplyWhenFieldsAreAbsent) {
  auto metadata = MetadataFromJson(Document(Raw()));
  ASSERT_TRUE(metadata) << metadata.error().message();
  const Object& object = metadata->sets[0][0];
  EXPECT_EQ(object.ChunkSize(), 131072u);
  EXPECT_EQ(object.Skip(), 0u);
  EXPECT_EQ(object.Count(), -1);
  EXPECT_TRUE(object.Truncate());  // the schema's default, though uhu writes false
  EXPECT_FALSE(object.IsCompressed());
  // A single installation set is valid.
  EXPECT_EQ(metadata->sets.size(), 1u);
}

TEST(Metadata, EveryModeAcceptsItsFields) {
  const std::vector<json> objects = {
      {{"mode", "copy"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "device"},
       {"target", "/dev/x"},
       {"target-path", "/etc/f"},
       {"filesystem", "ext4"},
       {"format?", true},
       {"format-options", "-F"},
       {"mount-options", "ro"},
       {"target-mode", "0640"},
       {"target-uid", "root"},
       {"target-gid", 0},
       {"compressed", false},
       {"install-if-different", "sha256sum"}},
      {{"mode", "tarball"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "ubivolume"},
       {"target", "rootfs"},
       {"target-path", "/"},
       {"filesystem", "ubifs"}},
      {{"mode", "flash"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "mtdname"},
       {"target", "kernel"}},
      {{"mode", "ubifs"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "ubivolume"},
       {"target", "rootfs"},
       {"compressed", true},
       {"required-uncompressed-size", 5}},
      {{"mode", "imxkobs"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"1k_padding", true},
       {"search_exponent", 2},
       {"chip_0_device_path", "/dev/mtd0"},
       {"chip_1_device_path", "/dev/mtd1"}},
      {{"mode", "uboot-env"}, {"filename", "f"}, {"size", 1}, {"sha256sum", kSha}},
      {{"mode", "mender"}, {"filename", "f"}, {"size", 1}, {"sha256sum", kSha}},
      {{"mode", "zephyr"}, {"filename", "f"}, {"size", 1}, {"sha256sum", kSha}},
      {{"mode", "raw-delta"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "device"},
       {"target", "/dev/x"},
       {"chunk-size", 4096},
       {"seek", 0}},
      {{"mode", "test"}, {"filename", "f"}, {"size", 1}, {"sha256sum", kSha}},
      {{"mode", "raw"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "device"},
       {"target", "/dev/x"},
       {"install-if-different",
        {{"version", "1.2"},
         {"pattern", {{"regexp", "v(\\d+)"}, {"seek", 4}, {"buffer-size", -1}}}}}},
      {{"mode", "raw"},
       {"filename", "f"},
       {"size", 1},
       {"sha256sum", kSha},
       {"target-type", "device"},
       {"target", "/dev/x"},
       {"install-if-different", {{"version", "5.4"}, {"pattern", "linux-kernel"}}}},
  };
  for (const auto& object : objects) {
    auto metadata = MetadataFromJson(Document(object));
    ASSERT_TRUE(metadata) << object.dump() << ": " << metadata.error().message();
    // The model writes back exactly what it read.
    EXPECT_EQ(ToJson(metadata->sets[0][0]), object);
  }
}

struct BadObject {
  const char* name;
  json patch;  // merged into a valid raw object; null values remove the key
  const char* message;
};

class MetadataRejects : public ::testing::TestWithParam<BadObject> {};

TEST_P(MetadataRejects, NamesObjectAndField) {
  json object = Raw();
  object.merge_patch(GetParam().patch);
  const Error error = ErrorOf(Document(object));
  EXPECT_EQ(error.code(), Errc::kMalformed);
  EXPECT_THAT(error.message(), HasSubstr("objects[0][0]"));
  EXPECT_THAT(error.message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Objects, MetadataRejects,
    ::testing::Values(
        BadObject{"UnknownMode", {{"mode", "floppy"}}, "unknown install mode 'floppy'"},
        BadObject{"ModeNotString", {{"mode", 3}}, "field 'mode'"},
        BadObject{"MissingMode", {{"mode", nullptr}}, "field 'mode' is missing"},
        BadObject{"UnknownField", {{"colour", "red"}}, "field 'colour' is not allowed"},
        BadObject{
            "FieldOfOtherMode", {{"target-path", "/x"}}, "'target-path' is not allowed in raw"},
        BadObject{"SizeAsString", {{"size", "10"}}, "field 'size': expected integer, got string"},
        BadObject{"SizeNegative", {{"size", -1}}, "field 'size': must be at least 0"},
        BadObject{"SizeFloat", {{"size", 1.5}}, "field 'size': expected integer, got number"},
        BadObject{"SizeBool", {{"size", true}}, "field 'size': expected integer, got boolean"},
        BadObject{"MissingSize", {{"size", nullptr}}, "field 'size' is missing"},
        BadObject{"MissingFilename", {{"filename", nullptr}}, "field 'filename' is missing"},
        BadObject{"EmptyFilename", {{"filename", ""}}, "field 'filename': must not be empty"},
        BadObject{"UpperCaseSha", {{"sha256sum", std::string(64, 'A')}}, "64 lowercase hex"},
        BadObject{"ShortSha", {{"sha256sum", "abc"}}, "64 lowercase hex"},
        BadObject{"MissingTarget", {{"target", nullptr}}, "'target' is required in raw mode"},
        BadObject{"BadTargetType", {{"target-type", "floppy"}}, "device, ubivolume or mtdname"},
        BadObject{"TargetTypeOfOtherMode", {{"target-type", "mtdname"}}, "not allowed in raw"},
        BadObject{"ZeroChunkSize", {{"chunk-size", 0}}, "field 'chunk-size': must be at least 1"},
        BadObject{"CountBelowMinusOne", {{"count", -2}}, "field 'count': must be at least -1"},
        BadObject{"TruncateString", {{"truncate", "yes"}}, "field 'truncate': expected boolean"},
        BadObject{"HugeInteger", {{"skip", 18446744073709551615ULL}}, "field 'skip': is too large"},
        BadObject{"IfDifferentMd5", {{"install-if-different", "md5"}}, "\"sha256sum\""},
        BadObject{"IfDifferentBadPattern",
                  {{"install-if-different", {{"version", "1"}, {"pattern", "bios"}}}},
                  "pattern must be"},
        BadObject{"IfDifferentNoVersion",
                  {{"install-if-different", {{"pattern", "u-boot"}}}},
                  "needs a string 'version'"},
        BadObject{"IfDifferentExtraKey",
                  {{"install-if-different", {{"version", "1"}, {"pattern", "u-boot"}, {"x", 1}}}},
                  "unknown key 'x'"},
        BadObject{"IfDifferentNoRegexp",
                  {{"install-if-different", {{"version", "1"}, {"pattern", {{"seek", 1}}}}}},
                  "needs a 'regexp'"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(Metadata, CopyRules) {
  json copy = {{"mode", "copy"},          {"filename", "f"},         {"size", 1},
               {"sha256sum", kSha},       {"target-type", "device"}, {"target", "/dev/x"},
               {"target-path", "/etc/f"}, {"filesystem", "ext4"}};
  ASSERT_TRUE(MetadataFromJson(Document(copy)));
  auto with = [&](json patch) {
    json object = copy;
    object.merge_patch(patch);
    return ErrorOf(Document(object)).message();
  };
  EXPECT_THAT(with({{"target-uid", 0}}), HasSubstr("'target-uid' and 'target-gid' go together"));
  EXPECT_THAT(with({{"format-options", "-F"}}), HasSubstr("requires \"format?\": true"));
  EXPECT_THAT(with({{"format?", false}, {"format-options", "-F"}}), HasSubstr("format?"));
  EXPECT_THAT(with({{"target-mode", "644"}}), HasSubstr("4 octal digits"));
  EXPECT_THAT(with({{"target-mode", "0999"}}), HasSubstr("4 octal digits"));
  EXPECT_THAT(with({{"target-mode", 644}}), HasSubstr("expected string"));
  EXPECT_THAT(with({{"filesystem", "ntfs"}}), HasSubstr("unknown filesystem 'ntfs'"));
  EXPECT_THAT(with({{"target-path", nullptr}}), HasSubstr("'target-path' is required"));
  EXPECT_THAT(with({{"target-uid", true}, {"target-gid", 0}}), HasSubstr("string or integer"));
}

TEST(Metadata, ModeSpecificRules) {
  json tarball = {
      {"mode", "tarball"},  {"filename", "f"},         {"size", 1},
      {"sha256sum", kSha},  {"target-type", "device"}, {"target", "/dev/x"},
      {"target-path", "/"}, {"filesystem", "ext4"},    {"install-if-different", "sha256sum"}};
  EXPECT_THAT(ErrorOf(Document(tarball)).message(),
              HasSubstr("'install-if-different' is not allowed in tarball"));
  json ubifs = {{"mode", "ubifs"},
                {"filename", "f"},
                {"size", 1},
                {"sha256sum", kSha},
                {"target-type", "ubivolume"},
                {"target", "rootfs"},
                {"compressed", false},
                {"required-uncompressed-size", 5}};
  EXPECT_THAT(ErrorOf(Document(ubifs)).message(), HasSubstr("requires \"compressed\": true"));
  json zephyr = {{"mode", "zephyr"},
                 {"filename", "f"},
                 {"size", 1},
                 {"sha256sum", kSha},
                 {"target", "/dev/x"}};
  EXPECT_THAT(ErrorOf(Document(zephyr)).message(), HasSubstr("not allowed in zephyr"));
}

TEST(Metadata, TopLevelRules) {
  auto with = [&](json patch) {
    json document = Document(Raw());
    document.merge_patch(patch);
    return ErrorOf(document).message();
  };
  EXPECT_THAT(with({{"product-uid", kProduct}}), HasSubstr("unknown field 'product-uid'"));
  EXPECT_THAT(with({{"product", nullptr}}), HasSubstr("field 'product' is missing"));
  EXPECT_THAT(with({{"product", "abc"}}), HasSubstr("64 lowercase hex"));
  EXPECT_THAT(with({{"version", ""}}), HasSubstr("'version': must not be empty"));
  EXPECT_THAT(with({{"version", 1}}), HasSubstr("'version': expected string"));
  EXPECT_THAT(with({{"supported-hardware", "all"}}), HasSubstr("\"any\""));
  EXPECT_THAT(with({{"supported-hardware", json::array()}}), HasSubstr("must not be empty"));
  EXPECT_THAT(with({{"supported-hardware", {"a", "a"}}}), HasSubstr("listed twice"));
  EXPECT_THAT(with({{"supported-hardware", {1}}}), HasSubstr("expected string"));
  EXPECT_THAT(with({{"objects", json::array()}}), HasSubstr("1 or 2 installation sets"));
  EXPECT_THAT(with({{"objects", {{Raw()}, {Raw()}, {Raw()}}}}), HasSubstr("not 3"));
  EXPECT_THAT(with({{"objects", {json::array()}}}), HasSubstr("installation set is empty"));
  EXPECT_THAT(with({{"objects", "x"}}), HasSubstr("'objects': expected array"));
  json other = Raw();
  other["filename"] = "other.img";
  EXPECT_THAT(with({{"objects", {{Raw()}, {other}}}}), HasSubstr("same filenames"));
  EXPECT_EQ(ErrorOf(json::array()).code(), Errc::kMalformed);
}

TEST(Metadata, ParseRejectsDuplicateKeysAndDeepNesting) {
  std::string text = PythonJsonDumps(Document(Raw()));
  text.insert(1, R"("version": "9.9", )");
  auto duplicate = ParseMetadata(text);
  ASSERT_FALSE(duplicate);
  EXPECT_THAT(duplicate.error().message(), HasSubstr("duplicate JSON key \"version\""));
  auto deep = ParseMetadata(std::string(100000, '['));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code(), Errc::kMalformed);
}

TEST(Metadata, ParseRejectsOversizedMetadata) {
  json document = Document(Raw());
  document["version"] = std::string(1024 * 1024, 'v');
  auto metadata = ParseMetadata(document.dump());
  ASSERT_FALSE(metadata);
  EXPECT_EQ(metadata.error().code(), Errc::kTooLarge);
}

}  // namespace
}  // namespace uh::package
