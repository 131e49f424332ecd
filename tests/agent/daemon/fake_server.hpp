#pragma once

// A device-protocol server whose answers the test chooses (a probe answered with HTML, metadata
// of another product, a download that fails), recording what the agent sent: every probe with
// its time and Api-Retries header, the downloads, the reports.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "package/signature.hpp"
#include "server/http/http.hpp"
#include "simulated_device.hpp"

namespace uh::agent::testing {

// The metadata of the test package signed.uhupkg.
inline std::string TestMetadata() {
  return uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json");
}

// That metadata with one change, as canonical JSON.
inline std::string TestMetadataWith(const std::function<void(nlohmann::json&)>& change) {
  nlohmann::json metadata = nlohmann::json::parse(TestMetadata());
  change(metadata);
  return metadata.dump();
}

class FakeServer {
 public:
  // A probe as the server saw it.
  struct ProbeSeen {
    std::chrono::steady_clock::time_point at;
    std::string api_retries;   // the Api-Retries header
    std::string version;       // the device's version in the body
    std::string device_token;  // the UH-Device-Token header
  };

  FakeServer() {
    namespace http = uh::server::http;
    auto router = std::make_shared<http::Router>();
    router->Add(http::Method::kPost, "/upgrades", [this](http::Request& request) {
      std::lock_guard lock(mutex_);
      const auto body = nlohmann::json::parse(request.body, nullptr, false);
      probes_.push_back({std::chrono::steady_clock::now(), request.Header("Api-Retries"),
                         body.is_object() ? body.value("version", "") : "",
                         request.Header("UH-Device-Token")});
      http::Response response = http::Response::Text(probe_status_, probe_body_, probe_type_);
      if (!signature_.empty()) response.SetHeader("UH-Signature", signature_);
      return response;
    });
    router->Add(http::Method::kGet, "/products/{p}/packages/{u}/objects/{o}",
                [this](http::Request& request) {
                  std::unique_lock lock(mutex_);
                  ++downloads_[request.Param("o")];
                  if (download_delay_.count() > 0) {  // a slow server: the lock is not held
                    const auto delay = download_delay_;
                    lock.unlock();
                    std::this_thread::sleep_for(delay);
                    lock.lock();
                  }
                  if (auto failing = failures_.find(request.Param("o"));
                      failing != failures_.end() && failing->second.second > 0) {
                    --failing->second.second;
                    return http::Response::Error(failing->second.first, "not now");
                  }
                  auto it = objects_.find(request.Param("o"));
                  if (it == objects_.end()) return http::Response::Error(404, "no object");
                  return http::Response::Text(200, it->second, "application/octet-stream");
                });
    router->Add(http::Method::kPost, "/report", [this](http::Request& request) {
      std::lock_guard lock(mutex_);
      reports_.push_back(nlohmann::json::parse(request.body, nullptr, false));
      return http::Response::Json(200, nlohmann::json::object());
    });
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    auto server = http::HttpServer::Start(std::move(options), router);
    if (!server) throw std::runtime_error(server.error().message());
    server_ = std::move(*server);
    objects_[kRootfs] = ObjectBytes(kRootfs);
    objects_[kTarball] = ObjectBytes(kTarball);
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // Offers `metadata`, signed with the test packages' key unless a signature is given.
  void Offer(const std::string& metadata, std::optional<std::string> signature = std::nullopt) {
    if (!signature) {
      auto key = package::PrivateKey::Load(uh::testing::TestPackagesDir() / "key.pem");
      EXPECT_TRUE(key);
      auto signed_ = key->SignBase64(metadata);
      EXPECT_TRUE(signed_);
      signature = *signed_;
    }
    std::lock_guard lock(mutex_);
    probe_status_ = 200;
    probe_body_ = metadata;
    probe_type_ = "application/json";
    signature_ = *signature;
  }
  // Answers probes with `status` and `body` as they are (no signature).
  void AnswerProbes(int status, std::string body, std::string content_type = "text/plain") {
    std::lock_guard lock(mutex_);
    probe_status_ = status;
    probe_body_ = std::move(body);
    probe_type_ = std::move(content_type);
    signature_.clear();
  }
  void SetObject(const std::string& sha256, std::string bytes) {
    std::lock_guard lock(mutex_);
    objects_[sha256] = std::move(bytes);
  }
  // The next `times` downloads of the object are answered with `status`.
  void FailDownloads(const std::string& sha256, int status, int times) {
    std::lock_guard lock(mutex_);
    failures_[sha256] = {status, times};
  }
  // Every download is answered only after `delay`.
  void DelayDownloads(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    download_delay_ = delay;
  }
  int Downloads(const std::string& sha256) {
    std::lock_guard lock(mutex_);
    return downloads_[sha256];
  }
  std::vector<nlohmann::json> Reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  // The statuses of the reports, in order.
  std::vector<std::string> Statuses() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& report : reports_) out.push_back(report.value("status", ""));
    return out;
  }
  void ClearReports() {
    std::lock_guard lock(mutex_);
    reports_.clear();
  }
  int Probes() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(probes_.size());
  }
  std::vector<ProbeSeen> ProbeLog() {
    std::lock_guard lock(mutex_);
    return probes_;
  }

 private:
  std::mutex mutex_;
  int probe_status_ = 404;
  std::string probe_body_ = "no update";
  std::string probe_type_ = "text/plain";
  std::string signature_;
  std::vector<ProbeSeen> probes_;
  std::map<std::string, std::string> objects_;
  std::map<std::string, std::pair<int, int>> failures_;  // object: status, times left
  std::map<std::string, int> downloads_;
  std::chrono::milliseconds download_delay_{0};
  std::vector<nlohmann::json> reports_;
  std::unique_ptr<uh::server::http::HttpServer> server_;
};

}  // namespace uh::agent::testing
