#pragma once

// Clients for the HTTP server tests: libcurl for well-behaved requests, raw sockets for what
// libcurl would refuse to send (garbage, traversal paths, slow or truncated requests).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace uh::server::http::testing {

struct FetchOptions {
  std::string method = "GET";
  std::vector<std::string> headers{};  // "Name: value"
  std::optional<std::string> body{};
  std::optional<std::filesystem::path> upload{};  // streamed from a file (POST)
  std::optional<std::string> range{};             // "A-B", as for CURLOPT_RANGE
  std::filesystem::path ca_file{};                // for https
  long timeout_seconds = 10;
};

struct FetchResult {
  long status = 0;  // 0 when the transfer failed
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string error;
};

[[nodiscard]] FetchResult Fetch(const std::string& url, const FetchOptions& options = {});

// A connected TCP socket to 127.0.0.1, closed on destruction.
class RawConnection {
 public:
  // `receive_buffer` > 0 shrinks the socket's receive buffer (to keep a download in flight).
  explicit RawConnection(std::uint16_t port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool Send(std::string_view data);
  // One response: header, then Content-Length bytes of body (none for `head`). Empty on EOF
  // or timeout.
  [[nodiscard]] std::string ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(5), bool head = false);
  // Reads until the server closes; nullopt if it has not within `timeout`.
  [[nodiscard]] std::optional<std::string> ReadUntilClosed(std::chrono::milliseconds timeout);
  // Reads exactly `n` bytes (fewer on EOF or timeout).
  [[nodiscard]] std::string ReadBytes(std::size_t n, std::chrono::milliseconds timeout);

 private:
  // Appends what arrives within `timeout`; false on EOF, error or timeout.
  bool ReadMore(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string pending_;
};

// The status code of a raw response ("HTTP/1.1 200 OK..." -> 200), or 0.
[[nodiscard]] int StatusOf(const std::string& response);
// The body of a raw response (after the blank line).
[[nodiscard]] std::string BodyOf(const std::string& response);

}  // namespace uh::server::http::testing
