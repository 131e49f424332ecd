#pragma once

// The management API over libcurl, as updatehub-admin needs it: JSON requests with a bearer
// token, a streamed package upload, and every way a server can fail turned into an Error whose
// code says what kind of failure it was (see ExitStatusOf in cli.hpp):
//   kIo, kTimeout        no answer: cannot connect, TLS refused, connection cut, too slow
//   kForbidden           401 / 403 (the message says to log in again on 401)
//   kMalformed           not HTTP, or a body that is not the JSON the API promises
//   kTooLarge            a reply larger than ClientOptions::max_reply_bytes
//   other codes          the server refused; the message is its {"error": "..."}
//   kCancelled           Ctrl-C while waiting

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::admin {

struct ClientOptions {
  std::string server;  // "https://host:port", no trailing slash
  std::string token;   // sent as "Authorization: Bearer"; empty: none
  std::string ca_file;
  bool insecure = false;  // no certificate or host name check (explicit --insecure only)
  long connect_timeout_seconds = 10;
  long timeout_seconds = 120;  // a whole request; uploads instead fail below 1 KiB/s for a minute
  std::size_t max_reply_bytes = 64 * 1024 * 1024;
  const std::atomic<bool>* cancel = nullptr;  // set (by a signal handler): the request stops
};

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
};

// Upload progress: bytes sent so far.
using UploadProgress = std::function<void(std::uint64_t sent)>;

class ApiClient {
 public:
  explicit ApiClient(ClientOptions options) : options_(std::move(options)) {}

  // `path` is below the server, e.g. "/api/v1/products". A reply of any status is a value; only
  // a transfer that did not get a whole reply is an error.
  [[nodiscard]] Expected<Reply> Send(std::string_view method, const std::string& path,
                                     const std::optional<nlohmann::json>& body = std::nullopt);
  [[nodiscard]] Expected<Reply> SendFile(const std::string& path, const std::filesystem::path& file,
                                         const UploadProgress& progress);

  // Send() and ReplyJson(): the JSON of a 2xx reply, the server's error otherwise.
  [[nodiscard]] Expected<nlohmann::json> Call(
      std::string_view method, const std::string& path,
      const std::optional<nlohmann::json>& body = std::nullopt);

  [[nodiscard]] const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

// The JSON body of a 2xx reply; otherwise the error the server gave ({"error": "..."}), or a
// description of the status when its body says nothing readable.
[[nodiscard]] Expected<nlohmann::json> ReplyJson(const Reply& reply);

// "HTTP 422: the server's {"error": ...} message" of a refused request.
[[nodiscard]] std::string RefusalMessage(const Reply& reply);

// `value` percent-encoded for a URL's query.
[[nodiscard]] std::string UrlEncode(std::string_view value);

// Whether `url` is an http:// or https:// URL with a host; returns it without trailing slashes.
[[nodiscard]] Expected<std::string> NormaliseServerUrl(std::string_view url);

}  // namespace uh::admin
