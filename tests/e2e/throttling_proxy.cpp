#include "e2e/throttling_proxy.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <thread>
#include <vector>

namespace uh::e2e {
namespace throttling {

// Shared by the proxy's coroutines and the test's thread.
struct Counters {
  std::atomic<std::size_t> rate{0};  // bytes per second and connection, upstream to client
  std::atomic<std::uint64_t> bytes_down{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> refused{0};
};

}  // namespace throttling
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using throttling::Counters;

// One client connection and its upstream one. Either direction ending closes both, which
// ends the other direction too.
struct Link {
  explicit Link(tcp::socket accepted)
      : client(std::move(accepted)), upstream(client.get_executor()) {}
  void Close() {
    boost::system::error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
  }
  tcp::socket client;
  tcp::socket upstream;
};

// Copies `from` to `to`, paced to at most `rate` bytes per second when given.
asio::awaitable<void> Pump(std::shared_ptr<Link> link, tcp::socket& from, tcp::socket& to,
                           const std::atomic<std::size_t>* rate,
                           std::atomic<std::uint64_t>* counter) {
  std::vector<char> buffer(64 * 1024);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // The pace counts from the last change of rate.
  std::size_t pace = 0;
  auto start = Clock::now();
  std::uint64_t moved = 0;
  boost::system::error_code ec;
  for (;;) {
    const std::size_t wanted = rate != nullptr ? rate->load() : 0;
    if (wanted != pace) {
      pace = wanted;
      start = Clock::now();
      moved = 0;
    }
    // Small steps keep the pace smooth: a twentieth of a second's worth at a time.
    const std::size_t step =
        pace > 0 ? std::clamp<std::size_t>(pace / 20, 1024, buffer.size()) : buffer.size();
    const std::size_t n = co_await from.async_read_some(
        asio::buffer(buffer.data(), step), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    moved += n;
    if (counter != nullptr) *counter += n;
    if (pace > 0) {
      const auto due = start + std::chrono::microseconds(moved * 1'000'000 / pace);
      if (due > Clock::now()) {
        timer.expires_at(due);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
    }
  }
  link->Close();
}

asio::awaitable<void> Connect(std::shared_ptr<Link> link, tcp::endpoint upstream,
                              Counters& counters) {
  boost::system::error_code ec;
  link->upstream.open(tcp::v4(), ec);
  // A small receive window: little of what the server sent waits in the proxy. (The server's
  // own send buffer still holds a few MiB, which a client gets even after the server died.)
  if (!ec) link->upstream.set_option(asio::socket_base::receive_buffer_size(64 * 1024), ec);
  if (!ec) {
    co_await link->upstream.async_connect(upstream, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    ++counters.refused;
    link->Close();
    co_return;
  }
  auto executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, Pump(link, link->client, link->upstream, nullptr, nullptr),
                 asio::detached);
  asio::co_spawn(executor,
                 Pump(link, link->upstream, link->client, &counters.rate, &counters.bytes_down),
                 asio::detached);
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor, tcp::endpoint upstream, Counters& counters) {
  boost::system::error_code ec;
  for (;;) {
    tcp::socket client =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    ++counters.connections;
    asio::co_spawn(acceptor.get_executor(),
                   Connect(std::make_shared<Link>(std::move(client)), upstream, counters),
                   asio::detached);
  }
}

}  // namespace

struct ThrottlingProxy::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  throttling::Counters counters;
  std::thread thread;
};

ThrottlingProxy::ThrottlingProxy(std::uint16_t upstream_port, std::size_t bytes_per_second)
    : impl_(std::make_unique<Impl>()) {
  impl_->counters.rate = bytes_per_second;
  const tcp::endpoint upstream(asio::ip::address_v4::loopback(), upstream_port);
  asio::co_spawn(impl_->io, Accept(impl_->acceptor, upstream, impl_->counters), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

ThrottlingProxy::~ThrottlingProxy() {
  impl_->io.stop();
  impl_->thread.join();
}

void ThrottlingProxy::SetRate(std::size_t bytes_per_second) {
  impl_->counters.rate = bytes_per_second;
}

std::uint16_t ThrottlingProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

std::uint64_t ThrottlingProxy::BytesDown() const { return impl_->counters.bytes_down; }
std::uint64_t ThrottlingProxy::Connections() const { return impl_->counters.connections; }
std::uint64_t ThrottlingProxy::Refused() const { return impl_->counters.refused; }

}  // namespace uh::e2e
