#pragma once

// A TCP proxy on 127.0.0.1 that forwards every connection to a port on 127.0.0.1 and sends
// what comes back at most at a given rate per connection: downloads from a server on the
// same machine become as slow as over a real network, slow enough to be interrupted. It runs
// on a thread of its own (Boost.Asio). While the upstream port does not answer, connections
// are accepted and closed at once, as a load balancer in front of a dead server does.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace uh::e2e {

class ThrottlingProxy {
 public:
  ThrottlingProxy(std::uint16_t upstream_port, std::size_t bytes_per_second);
  ~ThrottlingProxy();
  ThrottlingProxy(const ThrottlingProxy&) = delete;
  ThrottlingProxy& operator=(const ThrottlingProxy&) = delete;

  // Changes the rate of every connection, from now on.
  void SetRate(std::size_t bytes_per_second);

  [[nodiscard]] std::uint16_t port() const;
  // Bytes sent back to the clients so far.
  [[nodiscard]] std::uint64_t BytesDown() const;
  // Connections accepted, and those closed at once because upstream refused them.
  [[nodiscard]] std::uint64_t Connections() const;
  [[nodiscard]] std::uint64_t Refused() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace uh::e2e
