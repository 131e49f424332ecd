#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace uh::server::testing {

using http::testing::Fetch;
using http::testing::FetchOptions;
using nlohmann::json;

ServerFixture::ServerFixture(std::uint64_t max_package_bytes) {
  config_.listen = "127.0.0.1:0";
  config_.data_dir = dir.path() / "data";
  config_.threads = 2;
  config_.access_log = false;  // a line per request would bury what explains a failure
  // Every simulated device shares 127.0.0.1, as a fleet behind one NAT: no per-address rate.
  config_.requests_per_second_per_address = 0;
  config_.max_package_bytes = max_package_bytes;
  if (std::getenv("UH_TEST_SERVER_POSTGRES_DIR") != nullptr) {
    database_ = std::make_unique<ScratchDatabase>();
    config_.database = database_->url();
  }
  Start();
}

ServerFixture::~ServerFixture() { Stop(); }

void ServerFixture::Start() {
  auto clock = [this] {
    const auto frozen = frozen_now_.load();
    return frozen == 0 ? std::chrono::system_clock::now()
                       : std::chrono::system_clock::time_point(std::chrono::seconds(frozen));
  };
  auto app = ServerApp::Start(config_, kAdminPassword, tick_, clock);
  if (!app) throw std::runtime_error("server did not start: " + app.error().message());
  app_ = std::move(*app);
  // Keep the same port across restarts of the same fixture.
  config_.listen = "127.0.0.1:" + std::to_string(app_->port());
  auto login = Fetch(Url("/api/v1/login"),
                     {.method = "POST",
                      .headers = {"Content-Type: application/json"},
                      .body = json{{"username", "admin"}, {"password", kAdminPassword}}.dump(),
                      .ca_file = tls_ca});
  if (login.status != 200) throw std::runtime_error("login failed: " + login.body);
  token = json::parse(login.body)["token"];
}

void ServerFixture::SetNow(std::chrono::system_clock::time_point now) {
  frozen_now_ = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

void ServerFixture::Stop() {
  if (app_) app_->Stop();
  app_.reset();
}

std::string ServerFixture::Url(const std::string& path) const {
  const char* scheme = config_.tls_certificate.empty() ? "http://" : "https://";
  return scheme + std::string("127.0.0.1:") + std::to_string(app_->port()) + path;
}

FetchResult ServerFixture::Api(const std::string& method, const std::string& path,
                               const json& body) {
  FetchOptions options;
  options.method = method;
  options.headers = {"Authorization: Bearer " + token, "Content-Type: application/json"};
  options.ca_file = tls_ca;
  if (!body.is_null()) options.body = body.dump();
  return Fetch(Url(path), options);
}

FetchResult ServerFixture::Upload(const std::filesystem::path& package) {
  FetchOptions options;
  options.method = "POST";
  options.headers = {"Authorization: Bearer " + token, "Content-Type: application/octet-stream"};
  options.upload = package;
  options.ca_file = tls_ca;
  return Fetch(Url("/api/v1/packages"), options);
}

void ServerFixture::SetUpConformanceProduct() {
  auto product = Api("POST", "/api/v1/products", {{"uid", kConformanceProduct}, {"name", "demo"}});
  ASSERT_EQ(product.status, 201) << product.body;
  const std::string pem = uh::testing::ReadFile(uh::testing::TestPackagesDir() / "key.pub");
  auto key = Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/keys",
                 {{"name", "uhu test key"}, {"public_key", pem}});
  ASSERT_EQ(key.status, 201) << key.body;
}

json ServerFixture::DeviceBody(const std::string& serial, const std::string& version,
                               const std::string& hardware, const std::string& product) {
  return {{"product-uid", product},
          {"version", version},
          {"hardware", hardware},
          {"device-identity", {{"serial", serial}, {"mac", {"aa:" + serial, "bb:" + serial}}}},
          {"device-attributes", {{"region", "eu"}}}};
}

FetchResult ServerFixture::Probe(const json& device) {
  return Fetch(Url("/upgrades"), {.method = "POST",
                                  .headers = {"Content-Type: application/json",
                                              "Api-Content-Type: application/vnd.updatehub-v1+json",
                                              "Api-Retries: 0", "User-Agent: updatehub/2.0 Linux"},
                                  .body = device.dump(),
                                  .ca_file = tls_ca});
}

FetchResult ServerFixture::Report(json device, const std::string& status,
                                  const std::string& package_uid, const std::string& error) {
  device["status"] = status;
  device["package-uid"] = package_uid;
  if (!error.empty()) {
    device["previous-state"] = "installing";
    device["error-message"] = error;
    device["current-log"] = "log line\n";
  }
  return Fetch(Url("/report"), {.method = "POST",
                                .headers = {"Content-Type: application/json",
                                            "Api-Content-Type: application/vnd.updatehub-v1+json"},
                                .body = device.dump(),
                                .ca_file = tls_ca});
}

}  // namespace uh::server::testing
