#pragma once

// The client against the project's real HTTP server on 127.0.0.1, port 0, with every request it
// receives recorded for the tests to check.

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/client/client.hpp"
#include "server/http/http.hpp"
#include "support/test_support.hpp"

namespace uh::agent::testing {

namespace http = uh::server::http;

inline const std::string kProduct(64, 'a');
inline const std::string kPackage(64, 'b');

// The device fields of a probe, as the agent builds them.
inline nlohmann::json DeviceFields() {
  return {{"product-uid", kProduct},
          {"version", "1.0"},
          {"hardware", "board-a"},
          {"device-identity", {{"id1", "value"}, {"mac", {"aa:bb", "cc:dd"}}}},
          {"device-attributes", {{"attr", "value"}}}};
}

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::vector<std::string> peer_certificates;  // the client's TLS certificate chain, DER

  [[nodiscard]] std::string Header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? "" : it->second;
  }
  [[nodiscard]] bool HasHeader(const std::string& lowercase_name) const {
    return headers.contains(lowercase_name);
  }
};

// A real server whose routes record what they receive.
class RecordingServer {
 public:
  explicit RecordingServer(const std::filesystem::path& temp_dir) : temp_dir_(temp_dir) {}
  ~RecordingServer() {
    if (server_) server_->Stop(std::chrono::seconds(1));
  }

  void Route(http::Method method, std::string pattern, http::Handler handler) {
    router_->Add(
        method, std::move(pattern),
        [this, handler = std::move(handler)](http::Request& request) {
          {
            std::lock_guard lock(mutex_);
            seen_.push_back({std::string(http::MethodName(request.method)), request.target,
                             request.headers, request.body, request.peer_certificates});
          }
          return handler(request);
        },
        http::RouteOptions{.max_body_bytes = 4 << 20});
  }

  void Start(std::optional<http::TlsOptions> tls = std::nullopt) {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.temp_dir = temp_dir_;
    tls_ = tls.has_value();
    options.tls = std::move(tls);
    auto started = http::HttpServer::Start(options, router_);
    ASSERT_TRUE(started) << started.error().message();
    server_ = std::move(*started);
  }

  [[nodiscard]] std::string Url(std::string_view path = "") const {
    return std::string(tls_ ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::filesystem::path temp_dir_;
  std::shared_ptr<http::Router> router_ = std::make_shared<http::Router>();
  std::unique_ptr<http::HttpServer> server_;
  bool tls_ = false;
  mutable std::mutex mutex_;
  std::vector<SeenRequest> seen_;
};

class ClientTest : public ::testing::Test {
 protected:
  // Short timeouts, so that a hanging test fails fast instead of waiting a minute.
  [[nodiscard]] static ClientOptions TestOptions(std::string server_url) {
    ClientOptions options;
    options.server_url = std::move(server_url);
    options.connect_timeout = std::chrono::seconds(5);
    options.request_timeout = std::chrono::seconds(10);
    options.low_speed_time = std::chrono::seconds(10);
    return options;
  }

  [[nodiscard]] static std::unique_ptr<Client> MakeTestClient(const ClientOptions& options) {
    auto client = MakeClient(options);
    EXPECT_TRUE(client) << client.error().message();
    return client ? std::move(*client) : nullptr;
  }
  [[nodiscard]] static std::unique_ptr<Client> MakeTestClient(std::string server_url) {
    return MakeTestClient(TestOptions(std::move(server_url)));
  }

  uh::testing::TempDir dir_;
  RecordingServer server_{dir_.path()};
};

}  // namespace uh::agent::testing
