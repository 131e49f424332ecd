#pragma once

// The simulator's view of HTTP: one asynchronous request at a time per call, answered through a
// callback on the fleet's io_context. BeastHttpClient is the real one (a bounded pool of
// keep-alive connections); tests provide in-memory servers behind the same interface.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace uh::sim {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;        // collected when the request has no on_body
  bool abandoned = false;  // on_head or on_body asked to stop; the connection was closed
  std::chrono::microseconds queued{0};   // waiting for a free connection
  std::chrono::microseconds elapsed{0};  // from sending the request to the end of the answer

  // The first header of that name (in any case).
  [[nodiscard]] std::optional<std::string_view> Header(std::string_view name) const;
};

struct HttpRequest {
  bool post = false;   // POST with `body` (JSON), else GET
  std::string target;  // path below the server's base, e.g. "/upgrades"
  std::string body;
  std::optional<std::uint64_t> range_start;  // "Range: bytes=N-"
  std::optional<int> api_retries;            // "Api-Retries: N"
  // Streaming: on_head sees the status and headers once they arrive, on_body each piece of the
  // body (then not collected). Either returning false abandons the request.
  std::function<bool(const HttpResponse&)> on_head;
  std::function<bool(std::string_view)> on_body;
};

// kIo (the connection was refused, reset or closed before the answer ended), kTimeout,
// kMalformed (an answer that is not HTTP), kTooLarge (a collected body over the limit) or
// kCancelled (the client shut down). A connect that times out is a kTimeout whose message starts
// with kConnecting.
using HttpCallback = std::function<void(Expected<HttpResponse>)>;

inline constexpr std::string_view kConnecting = "connecting";

// The server could not be reached or dropped the connection: kIo, or a connect that timed out.
// A load balancer's health check takes such a server out of its rotation; a slow or malformed
// answer does not.
[[nodiscard]] bool IsConnectionFailure(const Error& error);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends when a connection is free, queues otherwise; `done` is always called exactly once,
  // never from within Send.
  virtual void Send(HttpRequest request, HttpCallback done) = 0;
  // Fails queued requests with kCancelled and closes every connection.
  virtual void Shutdown() = 0;
  [[nodiscard]] virtual std::size_t queued() const = 0;
};

// Largest body collected in memory (metadata is at most 1 MiB).
inline constexpr std::size_t kMaxCollectedBody = 1024 * 1024 + 4096;

}  // namespace uh::sim
