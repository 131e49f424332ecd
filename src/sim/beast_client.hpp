#pragma once

// HttpClient on Boost.Beast: a bounded pool of keep-alive connections to one server, opened as
// needed and reused; requests wait in a queue while every connection is busy, so that a fleet
// of 100,000 devices needs a few dozen sockets. Every connect, write and read has a deadline.
// A request that finds its reused connection closed by the server before any byte of the
// answer arrived is sent again once on a new connection, as HTTP clients do.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sim/fleet_options.hpp"
#include "sim/http_client.hpp"

namespace uh::sim {

struct BeastClientOptions {
  ServerAddress address;
  unsigned connections = 64;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per connect, write and read
  std::string user_agent;
  std::optional<std::string> product_token;  // UH-Product-Token on every request
};

class BeastHttpClient final : public HttpClient {
 public:
  // Resolves the server's host (blocking, once).
  [[nodiscard]] static Expected<std::unique_ptr<BeastHttpClient>> Create(
      boost::asio::io_context& io, BeastClientOptions options);
  ~BeastHttpClient() override;
  BeastHttpClient(const BeastHttpClient&) = delete;
  BeastHttpClient& operator=(const BeastHttpClient&) = delete;

  void Send(HttpRequest request, HttpCallback done) override;
  void Shutdown() override;
  [[nodiscard]] std::size_t queued() const override { return queue_.size(); }
  [[nodiscard]] std::uint64_t connects() const { return connects_; }

 private:
  class Connection;
  struct Pending {
    HttpRequest request;
    HttpCallback done;
    std::chrono::steady_clock::time_point queued_at;
  };

  BeastHttpClient(boost::asio::io_context& io, BeastClientOptions options);
  void Dispatch();
  void Release(Connection* connection);

  boost::asio::io_context& io_;
  BeastClientOptions options_;
  std::string host_header_;
  struct Endpoints;
  std::unique_ptr<Endpoints> endpoints_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Pending> queue_;
  bool shut_down_ = false;
  std::uint64_t connects_ = 0;
};

}  // namespace uh::sim
