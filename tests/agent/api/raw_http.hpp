#pragma once

// Talking to a server on 127.0.0.1 byte by byte, for requests no HTTP library would send.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace uh::agent::api_test {

struct RawReply {
  int status = 0;  // 0 when no status line came back
  std::string head;
  std::string body;
};

// A connected socket, closed on destruction.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  // Sends everything; false if the peer closed.
  bool Send(std::string_view bytes);
  // Reads until the server closes the connection, or `timeout` passes.
  [[nodiscard]] std::string ReadAll(std::chrono::milliseconds timeout);
  // Reads one response with a Content-Length body.
  [[nodiscard]] RawReply ReadReply(std::chrono::milliseconds timeout);
  // True when the server closed the connection within `timeout`.
  [[nodiscard]] bool ClosedWithin(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;
};

[[nodiscard]] RawReply ParseRawReply(const std::string& text);

// One request, then the reply (the connection is closed afterwards).
[[nodiscard]] RawReply Exchange(std::uint16_t port, std::string_view request,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A well-formed request: METHOD PATH with `body` (Content-Length set), Connection: close.
[[nodiscard]] std::string MakeRequest(std::string_view method, std::string_view path,
                                      std::string_view body = {});

}  // namespace uh::agent::api_test
