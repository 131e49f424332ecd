#pragma once

// One libcurl easy handle (connections are kept alive between requests) and the policy every
// request shares: TLS verification, http(s) only, timeouts, proxies from the environment,
// redirects followed by hand so that the tokens and the client certificate never leave the
// server's origin.
// Internal to the client library.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/client/client.hpp"
#include "core/error.hpp"

namespace uh::agent::detail {

struct ResponseHead {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased, values trimmed

  // The value of the header `name`, in any case.
  [[nodiscard]] std::optional<std::string> Header(std::string_view name) const;
};

// "Name: value", a line of HttpRequest::headers.
[[nodiscard]] std::string HeaderLine(std::string_view name, std::string_view value);

// A time by which a transfer must be over, and how it was reckoned (for the error message).
struct TransferDeadline {
  std::chrono::steady_clock::time_point at{};
  std::string reckoning{};
};

// The deadline of a download of `bytes` still to fetch, starting now (DownloadTimeLimit); none
// when the options set no minimum rate.
[[nodiscard]] std::optional<TransferDeadline> DownloadDeadline(const ClientOptions& options,
                                                               std::uint64_t bytes);

// Where a response goes: its head once all headers are in (not for redirects that are
// followed), then its body in pieces. An error from either stops the transfer and becomes the
// result of Perform.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  [[nodiscard]] virtual Expected<void> OnHead(const ResponseHead& head) = 0;
  [[nodiscard]] virtual Expected<void> OnBody(std::string_view data) = 0;
  // When set, the transfer fails with kTimeout once this passes (checked about once a second,
  // through redirects). Read as the response comes, so a sink may set it once the size is known.
  [[nodiscard]] virtual const TransferDeadline* deadline() const { return nullptr; }
};

// A response the caller cannot use (an error status): the start of its body is kept for the
// error message.
class UnwantedReply {
 public:
  void Begin(long status) { status_ = status; }
  [[nodiscard]] bool active() const { return status_ != 0; }
  // Keeps the start of the body; once enough is kept, fails (with error()) to stop the transfer.
  [[nodiscard]] Expected<void> Add(std::string_view data);
  // "server answered STATUS: excerpt" when active.
  [[nodiscard]] std::optional<Error> error() const;

 private:
  static constexpr std::size_t kKeep = 512;
  long status_ = 0;
  std::string body_;
};

struct HttpRequest {
  bool post = false;
  std::string url;
  std::string body;                          // for POST
  std::vector<std::string> headers;          // extra "Name: value" lines
  bool api_headers = true;                   // Api-Content-Type and Content-Type of the protocol
  std::optional<std::uint64_t> range_start;  // sends "Range: bytes=N-"
  bool whole_request_timeout = true;         // ClientOptions::request_timeout applies
  const std::atomic<bool>* abort = nullptr;
};

class CurlSession {
 public:
  static constexpr int kMaxRedirects = 5;

  [[nodiscard]] static Expected<std::unique_ptr<CurlSession>> Create(ClientOptions options);
  ~CurlSession();
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;

  [[nodiscard]] const ClientOptions& options() const { return options_; }

  // Sends the request, following up to kMaxRedirects redirects (GET: 301, 302, 303, 307, 308;
  // POST: 307 and 308, which keep the method and body; never from https to http), and returns
  // the head of the final response once its body has gone to `sink`. Errors: the sink's,
  // kTimeout, kCancelled (request.abort), kIo (transport), kMalformed (a garbled reply).
  [[nodiscard]] Expected<ResponseHead> Perform(const HttpRequest& request, ResponseSink& sink);

 private:
  CurlSession(ClientOptions options, void* handle, std::string server_origin);
  [[nodiscard]] Expected<ResponseHead> PerformHop(const HttpRequest& request,
                                                  const std::string& url, ResponseSink& sink,
                                                  std::string* redirect_to);

  ClientOptions options_;
  void* handle_;  // CURL*
  std::string server_origin_;
};

}  // namespace uh::agent::detail
