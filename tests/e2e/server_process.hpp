#pragma once

// The real updatehub-server binary as a child process of the test, with its own data
// directory, and a client for its management API logged in as the admin.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/child_process.hpp"

namespace uh::e2e {

struct ApiReply {
  long status = 0;  // 0 when the request did not get an answer
  nlohmann::json body;
  std::string text;  // the raw body, or the transfer error
};

class ServerProcess {
 public:
  // Data in `dir`/data, log in `dir`/server.log; `extra_args` go on its command line
  // ("--config", "FILE", ...).
  explicit ServerProcess(std::filesystem::path dir, std::vector<std::string> extra_args = {});

  // Starts the server on `port` (0: a free one, kept for the next starts) and waits for it
  // to listen; then logs in. Throws std::runtime_error when it does not come up.
  void Start(std::uint16_t port = 0);
  // SIGTERM; returns how it ended ("exited with status 0" when it stopped cleanly).
  std::string Stop();
  // SIGKILL: the server dies at once, whatever it was doing.
  void Kill();
  [[nodiscard]] bool Running() { return process_ && process_->Running(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string Url(const std::string& path = "") const;
  [[nodiscard]] const std::filesystem::path& log() const { return log_; }

  // The management API (/api/v1 + `path`) as the admin.
  [[nodiscard]] ApiReply Api(const std::string& method, const std::string& path,
                             const nlohmann::json& body = nullptr);
  [[nodiscard]] ApiReply Upload(const std::filesystem::path& package);
  // A counter of /metrics; -1 when it is not there.
  [[nodiscard]] std::int64_t Metric(const std::string& name);

  // Shortcuts that fail the test (and return empty) when the server refuses.
  [[nodiscard]] std::string CreateProduct(const std::string& name, const std::string& uid = "");
  void RegisterKey(const std::string& product, const std::filesystem::path& public_key);
  [[nodiscard]] std::string UploadPackage(const std::filesystem::path& package);
  [[nodiscard]] std::int64_t CreateRollout(const std::string& product,
                                           const nlohmann::json& definition);
  [[nodiscard]] nlohmann::json Rollout(std::int64_t id);
  // Every device of the product (up to 1000).
  [[nodiscard]] nlohmann::json Devices(const std::string& product);
  // Reports matching the query ("device=3&status=error"), oldest first.
  [[nodiscard]] nlohmann::json Reports(const std::string& query);

 private:
  std::filesystem::path dir_;
  std::filesystem::path log_;
  std::vector<std::string> extra_args_;
  std::uint16_t port_ = 0;
  std::string token_;
  std::unique_ptr<ChildProcess> process_;
};

// The count of `state` in a rollout's statistics (or in one of its stages).
[[nodiscard]] std::int64_t CountOf(const nlohmann::json& rollout, const std::string& state);
[[nodiscard]] std::int64_t StageCountOf(const nlohmann::json& rollout, std::size_t stage,
                                        const std::string& state);

}  // namespace uh::e2e
