#include "agent/device/firmware_metadata.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "device_test_util.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using test::WriteScript;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kProductUid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// A metadata directory as a device ships it; tests break one piece at a time.
class FirmwareMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteScript(dir_ / "product-uid", "echo " + kProductUid + "\n");
    WriteScript(dir_ / "version", "echo 1.2.3\n");
    WriteScript(dir_ / "hardware", "printf 'board-a\\n\\n'\n");
    WriteScript(dir_ / "device-identity.d" / "10-mac",
                "echo mac=bb:bb:bb:bb:bb:bb\necho mac=aa:aa:aa:aa:aa:aa\n");
    WriteScript(dir_ / "device-identity.d" / "20-serial", "echo '  serial = 42  '\n");
    WriteScript(dir_ / "device-attributes.d" / "attrs",
                "echo kernel=6.1\n\necho empty=\necho mac=cc:cc:cc:cc:cc:cc\n");
  }

  [[nodiscard]] Expected<FirmwareMetadata> Load(MetadataOptions options = {}) const {
    return LoadFirmwareMetadata(dir_.path(), options);
  }

  // The message of the error Load() must fail with.
  [[nodiscard]] std::string LoadError(Errc code, MetadataOptions options = {}) const {
    auto metadata = Load(options);
    if (metadata) return "(no error)";
    EXPECT_EQ(metadata.error().code(), code) << metadata.error().message();
    return metadata.error().message();
  }

  uh::testing::TempDir dir_;
};

TEST_F(FirmwareMetadataTest, LoadsEverything) {
  auto metadata = Load();
  ASSERT_TRUE(metadata) << metadata.error().message();
  EXPECT_EQ(metadata->product_uid, kProductUid);
  EXPECT_EQ(metadata->version, "1.2.3");
  EXPECT_EQ(metadata->hardware, "board-a");
  ASSERT_EQ(metadata->identity.size(), 2u);
  EXPECT_THAT(metadata->identity.at("mac"), ElementsAre("aa:aa:aa:aa:aa:aa", "bb:bb:bb:bb:bb:bb"));
  EXPECT_THAT(metadata->identity.at("serial"), ElementsAre("42"));
  EXPECT_THAT(metadata->attributes.at("empty"), ElementsAre(""));
  EXPECT_FALSE(metadata->public_key);
}

TEST_F(FirmwareMetadataTest, ProbeJsonIsExactlyTheProtocolsDeviceFields) {
  auto metadata = Load();
  ASSERT_TRUE(metadata) << metadata.error().message();
  EXPECT_EQ(metadata->ToProbeJson(), nlohmann::json::parse(R"({
    "product-uid": ")" + kProductUid + R"(", "version": "1.2.3", "hardware": "board-a",
    "device-identity": {"mac": ["aa:aa:aa:aa:aa:aa", "bb:bb:bb:bb:bb:bb"], "serial": "42"},
    "device-attributes": {"empty": "", "kernel": "6.1", "mac": "cc:cc:cc:cc:cc:cc"}})"));
}

TEST_F(FirmwareMetadataTest, InfoJsonHasUpstreamsFieldsAndThePublicKey) {
  uh::testing::WriteFile(dir_ / "key.pub", "-----BEGIN PUBLIC KEY-----\n");
  auto metadata = Load();
  ASSERT_TRUE(metadata) << metadata.error().message();
  ASSERT_TRUE(metadata->public_key);
  const auto json = metadata->ToInfoJson();
  EXPECT_EQ(json["pub_key"], (dir_ / "key.pub").string());
  EXPECT_EQ(json["product_uid"], kProductUid);
  EXPECT_EQ(json["device_identity"]["serial"], "42");
  EXPECT_EQ(json["device_attributes"]["kernel"], "6.1");
}

TEST_F(FirmwareMetadataTest, AttributesAreOptional) {
  fs::remove_all(dir_ / "device-attributes.d");
  auto metadata = Load();
  ASSERT_TRUE(metadata) << metadata.error().message();
  EXPECT_TRUE(metadata->attributes.empty());
  EXPECT_EQ(metadata->ToProbeJson()["device-attributes"], nlohmann::json::object());
}

TEST_F(FirmwareMetadataTest, MissingScriptIsAnError) {
  fs::remove(dir_ / "product-uid");
  EXPECT_THAT(LoadError(Errc::kNotFound),
              HasSubstr("product-uid: " + (dir_ / "product-uid").string() + " does not exist"));
}

TEST_F(FirmwareMetadataTest, NonExecutableScriptIsAnError) {
  fs::permissions(dir_ / "version", fs::perms(0644));
  EXPECT_THAT(LoadError(Errc::kIo),
              HasSubstr("version: " + (dir_ / "version").string() + " is not an executable file"));
}

TEST_F(FirmwareMetadataTest, ScriptExitingNonZeroIsAnError) {
  WriteScript(dir_ / "hardware", "echo 'no board file' >&2\nexit 3\n");
  const std::string message = LoadError(Errc::kIo);
  EXPECT_THAT(message, HasSubstr("hardware: "));
  EXPECT_THAT(message, HasSubstr("exited with status 3: no board file"));
}

TEST_F(FirmwareMetadataTest, ProductUidMustBe64LowercaseHex) {
  for (const std::string& uid :
       {std::string("abc"), std::string(64, 'A'), std::string(64, 'g'), kProductUid + "0"}) {
    WriteScript(dir_ / "product-uid", "echo " + uid + "\n");
    EXPECT_THAT(LoadError(Errc::kMalformed), HasSubstr("not 64 lowercase hex characters")) << uid;
  }
}

TEST_F(FirmwareMetadataTest, EmptyProductUidOrVersionIsAnError) {
  WriteScript(dir_ / "version", "echo\n");
  EXPECT_THAT(LoadError(Errc::kMalformed), HasSubstr("version: printed nothing"));
  WriteScript(dir_ / "product-uid", "true\n");
  EXPECT_THAT(LoadError(Errc::kMalformed), HasSubstr("product-uid: printed ''"));
}

TEST_F(FirmwareMetadataTest, IdentityDirectoryIsRequiredAndMustNotBeEmpty) {
  fs::remove_all(dir_ / "device-identity.d");
  EXPECT_THAT(LoadError(Errc::kNotFound), HasSubstr("device-identity.d is not a directory"));
  fs::create_directory(dir_ / "device-identity.d");
  EXPECT_THAT(LoadError(Errc::kNotFound), HasSubstr("device-identity.d has no scripts"));
  uh::testing::WriteFile(dir_ / "device-identity.d" / ".keep", "");  // hidden: skipped
  EXPECT_THAT(LoadError(Errc::kNotFound), HasSubstr("device-identity.d has no scripts"));
  WriteScript(dir_ / "device-identity.d" / "silent", "true\n");
  EXPECT_THAT(LoadError(Errc::kMalformed), HasSubstr("printed no key=value line"));
}

TEST_F(FirmwareMetadataTest, NonExecutableEntryInADirectoryIsAnError) {
  fs::create_directory(dir_ / "device-identity.d" / "subdir");
  EXPECT_THAT(LoadError(Errc::kIo), HasSubstr("is not an executable file"));
}

TEST_F(FirmwareMetadataTest, BadKeyValueLineNamesScriptAndLine) {
  WriteScript(dir_ / "device-attributes.d" / "attrs", "echo a=1\necho\necho 'no equals sign'\n");
  EXPECT_THAT(LoadError(Errc::kMalformed),
              HasSubstr("device-attributes.d/attrs: line 3: 'no equals sign' is not key=value"));
  WriteScript(dir_ / "device-attributes.d" / "attrs", "echo '=value'\n");
  EXPECT_THAT(LoadError(Errc::kMalformed), HasSubstr("line 1: '=value' is not key=value"));
}

TEST_F(FirmwareMetadataTest, HugeOutputIsAnError) {
  WriteScript(dir_ / "device-identity.d" / "10-mac", "head -c 300000 /dev/zero | tr '\\0' a\n");
  EXPECT_THAT(LoadError(Errc::kTooLarge), HasSubstr("printed more than 65536 bytes"));
}

TEST_F(FirmwareMetadataTest, HangingScriptTimesOut) {
  WriteScript(dir_ / "version", "exec sleep 30\n");
  MetadataOptions options;
  options.timeout = std::chrono::milliseconds(200);
  EXPECT_THAT(LoadError(Errc::kTimeout, options), HasSubstr("version: "));
}

TEST(KeyValueLinesTest, TrimsSkipsBlankLinesAndMergesRepeatedKeys) {
  MetadataValues values;
  ASSERT_TRUE(ParseKeyValueLines("key1=v1\r\nkey=b\n\n  \nnv=\nkey=a=c\n", values));
  EXPECT_THAT(values.at("key"), ElementsAre("b", "a=c"));  // sorting is the caller's
  EXPECT_THAT(values.at("key1"), ElementsAre("v1"));
  EXPECT_THAT(values.at("nv"), ElementsAre(""));
  EXPECT_EQ(MetadataValuesToJson(values),
            nlohmann::json::parse(R"({"key": ["b", "a=c"], "key1": "v1", "nv": ""})"));
}

// Found by fuzz/firmware_metadata_fuzz (fuzz/corpus/firmware_metadata/invalid-keys.txt): keys
// that differ only in bytes that are not UTF-8 were distinct in the map but the same once the
// probe body replaced those bytes, so the body had a duplicate key and our server, which refuses
// duplicate keys, refused every probe of the device.
TEST(KeyValueLinesTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  MetadataValues values;
  ASSERT_TRUE(
      ParseKeyValueLines("serial\xff=1\nserial\xfe=2\nname=caf\xc3\xa9 \xc0\xaf\n", values));
  EXPECT_THAT(values.at("serial\xef\xbf\xbd"), ElementsAre("1", "2"));
  EXPECT_THAT(values.at("name"), ElementsAre("caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd"));
  FirmwareMetadata metadata;
  metadata.identity = values;
  auto body = ParseJson(metadata.ToProbeJson().dump());
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ((*body)["device-identity"].size(), 2u);
}

}  // namespace
}  // namespace uh::agent
