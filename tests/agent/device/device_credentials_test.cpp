// The device's credentials at start: a token file read, or created with a fresh secret (mode
// 0600) that the next start reads again; a file holding anything else, or unreadable, and a
// missing client certificate or key are errors that name the file.

#include "agent/device/device_credentials.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using ::testing::HasSubstr;
using uh::testing::ReadFile;
using uh::testing::WriteFile;

const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(DeviceCredentialsTest, AMissingTokenFileIsCreatedOnceAndReadAfterwards) {
  uh::testing::TempDir dir;
  const auto file = dir / "state" / "device-token";  // its directory is created too
  auto first = LoadOrCreateDeviceToken(file);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(IsLowerHexSha256(*first)) << *first;
  EXPECT_EQ(ReadFile(file), *first + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = LoadOrCreateDeviceToken(file);  // the next start
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*second, *first);

  uh::testing::TempDir other;
  auto elsewhere = LoadOrCreateDeviceToken(other / "device-token");
  ASSERT_TRUE(elsewhere);
  EXPECT_NE(*elsewhere, *first);  // random, not derived from anything
}

TEST(DeviceCredentialsTest, AProvisionedTokenIsReadWithOrWithoutItsNewline) {
  uh::testing::TempDir dir;
  WriteFile(dir / "with", kToken + "\n");
  WriteFile(dir / "without", kToken);
  std::string upper = kToken;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  WriteFile(dir / "upper", upper);
  for (const char* name : {"with", "without", "upper"}) {
    auto token = LoadOrCreateDeviceToken(dir / name);
    ASSERT_TRUE(token) << name << ": " << token.error().message();
    EXPECT_EQ(*token, kToken) << name;
  }
}

TEST(DeviceCredentialsTest, ATokenFileHoldingAnythingElseIsAnError) {
  uh::testing::TempDir dir;
  for (const std::string& text :
       {std::string(), kToken.substr(1), kToken + "0", kToken + "\n\n", " " + kToken,
        kToken.substr(1) + "g", kToken + "\n" + kToken + "\n", std::string(4096, 'a')}) {
    const auto file = dir / "device-token";
    WriteFile(file, text);
    auto token = LoadOrCreateDeviceToken(file);
    ASSERT_FALSE(token) << "accepted: " << text;
    EXPECT_EQ(token.error().code(), Errc::kInvalidArgument);
    EXPECT_THAT(token.error().message(), HasSubstr("network.device_token_file " + file.string() +
                                                   ": must hold exactly 64 hex digits"));
    EXPECT_EQ(ReadFile(file), text);  // never replaced
  }
}

TEST(DeviceCredentialsTest, AnUnreadableTokenFileIsAnError) {
  uh::testing::TempDir dir;
  const auto directory = dir / "device-token";  // a directory, not a file
  std::filesystem::create_directories(directory);
  auto token = LoadOrCreateDeviceToken(directory);
  ASSERT_FALSE(token);
  EXPECT_THAT(token.error().message(), HasSubstr("cannot be read"));
  if (::geteuid() != 0) {  // root reads anything
    const auto file = dir / "locked";
    WriteFile(file, kToken);
    ::chmod(file.c_str(), 0);
    auto locked = LoadOrCreateDeviceToken(file);
    ASSERT_FALSE(locked);
    EXPECT_THAT(locked.error().message(), HasSubstr("cannot be read"));
  }
}

TEST(DeviceCredentialsTest, NothingConfiguredMeansNoCredentials) {
  auto credentials = LoadDeviceCredentials(NetworkConfig{});
  ASSERT_TRUE(credentials) << credentials.error().message();
  EXPECT_FALSE(credentials->device_token);
  EXPECT_FALSE(credentials->client_certificate);
  EXPECT_FALSE(credentials->client_key);
}

TEST(DeviceCredentialsTest, TheClientCertificateAndKeyMustBeThere) {
  uh::testing::TempDir dir;
  WriteFile(dir / "device.crt", "-----BEGIN CERTIFICATE-----\n");
  WriteFile(dir / "device.key", "-----BEGIN PRIVATE KEY-----\n");
  NetworkConfig network;
  network.device_token_file = dir / "device-token";
  network.client_certificate = dir / "device.crt";
  network.client_key = dir / "device.key";
  auto credentials = LoadDeviceCredentials(network);
  ASSERT_TRUE(credentials) << credentials.error().message();
  EXPECT_EQ(credentials->device_token, ReadFile(dir / "device-token").substr(0, 64));
  EXPECT_EQ(credentials->client_certificate, dir / "device.crt");
  EXPECT_EQ(credentials->client_key, dir / "device.key");

  network.client_key = dir / "missing.key";
  auto missing = LoadDeviceCredentials(network);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kInvalidArgument);
  EXPECT_THAT(missing.error().message(), HasSubstr("network.client_key: "));
  EXPECT_THAT(missing.error().message(), HasSubstr("missing.key"));

  network.client_key.clear();
  auto alone = LoadDeviceCredentials(network);
  ASSERT_FALSE(alone);
  EXPECT_THAT(alone.error().message(), HasSubstr("set both or neither"));
}

}  // namespace
}  // namespace uh::agent
