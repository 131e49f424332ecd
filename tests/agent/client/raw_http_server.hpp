#pragma once

// A TCP server on 127.0.0.1, port 0, whose replies are written byte by byte by the test: for
// what a well-behaved HTTP server never sends (garbage, truncated bodies, silence, too much).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace uh::agent::testing {

struct RawRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  [[nodiscard]] std::string Header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawHttpServer {
 public:
  class Connection {
   public:
    Connection(int fd, const RawHttpServer& server) : fd_(fd), server_(server) {}
    // Writes everything (false when the client has gone).
    bool Send(std::string_view data);
    // Waits until the client closes the connection, the server stops or `timeout` passes.
    void WaitForClose(std::chrono::milliseconds timeout);

   private:
    int fd_;
    const RawHttpServer& server_;
  };

  // Called for each request with its connection (closed afterwards) and its index (0, 1...).
  using Script = std::function<void(Connection&, const RawRequest&, int index)>;

  explicit RawHttpServer(Script script);
  ~RawHttpServer();
  RawHttpServer(const RawHttpServer&) = delete;
  RawHttpServer& operator=(const RawHttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string Url(std::string_view path = "") const;
  [[nodiscard]] std::vector<RawRequest> requests() const;

 private:
  void Serve();
  bool ReadRequest(int fd, RawRequest& request);

  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<RawRequest> requests_;
  std::thread thread_;
};

// "HTTP/1.1 STATUS\r\n" + headers + "Connection: close\r\n\r\n".
[[nodiscard]] std::string RawHead(int status, const std::vector<std::string>& headers = {});

// A port on 127.0.0.1 where nothing listens.
[[nodiscard]] std::uint16_t ClosedPort();

}  // namespace uh::agent::testing
