#pragma once

// The agent's local HTTP API server: one io_context on one thread for the connections, a few
// connections at most, plus one worker thread for the calls into the daemon (AgentControl), so
// that a long probe does not stop GET /log. Every connection has deadlines (a client that stalls
// mid-request is dropped after `request_timeout` and never holds the API), and requests have
// header and body limits. Answers come from HandleApiRequest (api_routes.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/api/agent_control.hpp"
#include "agent/api/api_routes.hpp"
#include "agent/api/log_buffer.hpp"
#include "core/error.hpp"

namespace uh::agent {

struct LocalApiOptions {
  // A request must arrive whole within this time, an idle kept-alive connection is closed after
  // it, and an answer must be taken within it.
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_body_bytes = kMaxApiBodyBytes;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_connections = 8;  // more are closed at once
};

class LocalApiServer {
 public:
  // Listens on `listen` ("host:port", "[v6]:port"; "localhost" is 127.0.0.1; port 0 picks a
  // free one) and serves on a thread of its own. `control` and `log` must outlive the server.
  [[nodiscard]] static Expected<std::unique_ptr<LocalApiServer>> Start(
      std::string_view listen, AgentControl& control, const LogBuffer& log,
      LocalApiOptions options = {});

  ~LocalApiServer();  // Stop()
  LocalApiServer(const LocalApiServer&) = delete;
  LocalApiServer& operator=(const LocalApiServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Stops listening and closes the connections, after a daemon call in progress returns.
  void Stop();

 private:
  struct Impl;
  LocalApiServer(std::unique_ptr<Impl> impl, std::uint16_t port);
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_;
};

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port"; an empty host is "localhost".
[[nodiscard]] Expected<ListenAddress> ParseListenAddress(std::string_view listen);

}  // namespace uh::agent
