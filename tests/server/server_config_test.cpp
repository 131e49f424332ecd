// updatehub-server's TOML settings: known keys over the defaults, errors naming file, line, key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/config.hpp"
#include "support/test_support.hpp"

namespace uh::server {
namespace {

using ::testing::HasSubstr;

class ServerConfigTest : public ::testing::Test {
 protected:
  Expected<ServerConfig> Load(const std::string& text) {
    const auto path = dir_.path() / "server.toml";
    uh::testing::WriteFile(path, text);
    return LoadServerConfig(path);
  }
  uh::testing::TempDir dir_;
};

TEST_F(ServerConfigTest, KeysOverTheDefaults) {
  auto config = Load(
      "listen = \"0.0.0.0:9000\"\nthreads = 4\nwaiting_poll_seconds = 30\n"
      "max_package_bytes = 1024\n[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->listen, "0.0.0.0:9000");
  EXPECT_EQ(config->threads, 4u);
  EXPECT_EQ(config->waiting_poll_seconds, 30u);
  EXPECT_EQ(config->max_package_bytes, 1024u);
  EXPECT_EQ(config->tls_certificate, "c.pem");
  EXPECT_EQ(config->data_dir, "./var");  // a default
  EXPECT_EQ(ServerConfig{}.waiting_poll_seconds, 0u);
}

TEST_F(ServerConfigTest, LimitsQuotasAndLogging) {
  const ServerConfig defaults;
  EXPECT_EQ(defaults.max_connections_per_address, 256u);
  EXPECT_EQ(defaults.requests_per_second_per_address, 200u);
  EXPECT_EQ(defaults.request_burst_per_address, 400u);
  EXPECT_EQ(defaults.reports_per_device_per_minute, 60u);
  EXPECT_EQ(defaults.new_devices_per_product_per_minute, 1000u);
  EXPECT_EQ(defaults.log_format, "text");
  EXPECT_TRUE(defaults.access_log);
  auto config = Load(
      "max_connections_per_address = 5000\nrequests_per_second_per_address = 0\n"
      "request_burst_per_address = 10\nreports_per_device_per_minute = 6\n"
      "new_devices_per_product_per_minute = 20000\nlog_format = \"json\"\naccess_log = false\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->max_connections_per_address, 5000u);
  EXPECT_EQ(config->requests_per_second_per_address, 0u);
  EXPECT_EQ(config->request_burst_per_address, 10u);
  EXPECT_EQ(config->reports_per_device_per_minute, 6u);
  EXPECT_EQ(config->new_devices_per_product_per_minute, 20000u);
  EXPECT_EQ(config->log_format, "json");
  EXPECT_FALSE(config->access_log);
  auto bad_format = Load("log_format = \"xml\"\n");
  ASSERT_FALSE(bad_format);
  EXPECT_THAT(bad_format.error().message(), HasSubstr("\"text\" or \"json\""));
  EXPECT_FALSE(Load("access_log = 1\n"));
  EXPECT_FALSE(Load("request_burst_per_address = 0\n"));
}

TEST_F(ServerConfigTest, TlsCipherLists) {
  auto config = Load(
      "[tls]\ncertificate = \"c.pem\"\nciphers = \"ECDHE-RSA-AES256-GCM-SHA384\"\n"
      "ciphersuites = \"TLS_AES_256_GCM_SHA384\"\n");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->tls_ciphers, "ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(config->tls_ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(ServerConfig{}.tls_ciphers, "");  // empty: the server's forward-secret AEAD list

  auto wrong = Load("[tls]\nciphers = [\"AES128-SHA\"]\n");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message(), HasSubstr(":2: 'tls.ciphers' must be a string"));
}

TEST_F(ServerConfigTest, BadValuesNameTheLineAndKey) {
  for (const auto& [text, line_key, why] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"threads = 2\nwaiting_poll_seconds = -1\n", ":2: 'waiting_poll_seconds'", "0 to 86400"},
           {"waiting_poll_seconds = \"10\"\n", ":1: 'waiting_poll_seconds'", "integer"},
           {"waiting_poll_seconds = 86401\n", ":1: 'waiting_poll_seconds'", "0 to 86400"},
           {"threads = 1000\n", ":1: 'threads'", "0 to 256"},
           {"listen = 8080\n", ":1: 'listen'", "string"},
           {"\n\nlisten_port = 1\n", ":3: 'listen_port'", "not a known key"},
       }) {
    auto config = Load(text);
    ASSERT_FALSE(config) << text;
    EXPECT_THAT(config.error().message(), HasSubstr("server.toml" + line_key)) << text;
    EXPECT_THAT(config.error().message(), HasSubstr(why)) << text;
  }
  auto broken = Load("listen = \n");
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message(), HasSubstr("server.toml"));
}

}  // namespace
}  // namespace uh::server
