// The server: one io_context run by N threads, an acceptor on its own strand, and a Session
// per connection on a strand of its own (so a connection's handlers never run concurrently,
// while different connections use all threads). Handlers run synchronously on the io thread
// that serves their connection.

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/http/connection.hpp"
#include "server/http/session.hpp"
#include "server/http/tls_context.hpp"

namespace uh::server::http {
namespace asio = boost::asio;
using asio::ip::tcp;
using ErrorCode = boost::system::error_code;
namespace {

// How long Stop waits for connections it closed by force to wind down.
constexpr auto kForceCloseWait = std::chrono::seconds(2);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// The interface's default grace, for a server destroyed without Stop.
constexpr auto kDestructorGrace = std::chrono::seconds(10);

std::string RefusalAnswer(std::string_view status_line, std::string_view extra_headers,
                          std::string_view body) {
  return "HTTP/1.1 " + std::string(status_line) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra_headers) + "Connection: close\r\n\r\n" + std::string(body);
}

// Beyond max_connections (503) or the address's share of them (429): a best-effort answer
// without waiting on the peer, then close.
void Refuse(tcp::socket socket, bool per_address) {
  static const std::string kTooMany = RefusalAnswer("503 Service Unavailable", "Retry-After: 1\r\n",
                                                    R"({"error":"too many connections"})");
  static const std::string kTooManyFromAddress =
      RefusalAnswer("429 Too Many Requests", "Retry-After: 1\r\n",
                    R"({"error":"too many connections from this address"})");
  const std::string& answer = per_address ? kTooManyFromAddress : kTooMany;
  ErrorCode ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(answer), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(std::shared_ptr<ServerContext> context, unsigned threads)
      : io_(static_cast<int>(threads)),
        work_(asio::make_work_guard(io_)),
        acceptor_(asio::make_strand(io_)),
        retry_timer_(acceptor_.get_executor()),
        context_(std::move(context)),
        thread_count_(threads) {}
  ~ServerImpl() override { Stop(kDestructorGrace); }
  ServerImpl(const ServerImpl&) = delete;
  ServerImpl& operator=(const ServerImpl&) = delete;

  [[nodiscard]] Expected<void> Listen() {
    const auto& options = context_->options;
    const std::string where = options.address + ":" + std::to_string(options.port);
    ErrorCode ec;
    tcp::resolver resolver(io_);
    const auto endpoints =
        resolver.resolve(options.address, std::to_string(options.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
      return Fail(Errc::kInvalidArgument, "address " + where + ": " + ec.message());
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Fail(Errc::kIo, "listen on " + where + ": " + ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  void Run() {
    Accept();
    for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  [[nodiscard]] std::uint16_t port() const override { return port_; }

  [[nodiscard]] Expected<void> ReloadTls() override {
    const auto& tls = context_->options.tls;
    if (!tls) return {};
    auto fresh = MakeTlsContext(*tls);
    if (!fresh) {
      auto error = std::move(fresh.error()).WithContext("reloading TLS; keeping the current one");
      spdlog::error("{}", error.message());
      return std::unexpected(std::move(error));
    }
    context_->SetTls(std::move(*fresh));
    spdlog::info("TLS certificate {} reloaded for new connections", tls->certificate.string());
    return {};
  }

  void Stop(std::chrono::seconds grace) override {
    const std::lock_guard lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    context_->stopping = true;
    asio::post(acceptor_.get_executor(), [this] {
      ErrorCode ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
    });
    auto& connections = context_->connections;
    for (const auto& connection : connections.Snapshot()) connection->CloseWhenIdle();
    if (!connections.WaitUntilEmpty(std::chrono::steady_clock::now() + grace)) {
      spdlog::warn("HTTP server: closing {} busy connection(s) after the grace period",
                   connections.size());
      for (const auto& connection : connections.Snapshot()) connection->CloseNow();
      connections.WaitUntilEmpty(std::chrono::steady_clock::now() + kForceCloseWait);
    }
    // What is left (a handler that never returns) must not keep the threads: queued handlers
    // are destroyed with the io_context.
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      if (thread.get_id() == std::this_thread::get_id()) {
        spdlog::error("HTTP server stopped from its own handler; not joining that thread");
        thread.detach();
      } else if (thread.joinable()) {
        thread.join();
      }
    }
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](ErrorCode ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(ErrorCode ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || context_->stopping) return;
    if (ec) {  // e.g. out of descriptors: retry later rather than spin
      spdlog::warn("HTTP server: accept failed: {}", ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([this](ErrorCode wait_ec) {
        if (!wait_ec && !context_->stopping) Accept();
      });
      return;
    }
    ErrorCode address_ec;
    const auto peer = socket.remote_endpoint(address_ec);
    const std::string address = address_ec ? std::string() : peer.address().to_string();
    if (context_->connections.size() >= context_->options.max_connections) {
      context_->Refused(ServerOptions::Refusal::kConnection);
      Refuse(std::move(socket), false);
    } else if (!context_->per_address.Open(address)) {
      context_->Refused(ServerOptions::Refusal::kConnection);
      Refuse(std::move(socket), true);
    } else if (context_->options.tls) {
      std::make_shared<TlsSession>(context_, std::move(socket), address)->Start();
    } else {
      std::make_shared<PlainSession>(context_, std::move(socket), address)->Start();
    }
    Accept();
  }

  asio::io_context io_;
  // Keeps run() going while Stop winds down: with the acceptor closed and the last connection
  // between two handlers, the io_context would otherwise run out of work and return for good,
  // leaving the handlers Stop posts afterwards to never run.
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<ServerContext> context_;
  unsigned thread_count_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace

Expected<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options,
                                                        std::shared_ptr<const Router> router) {
  if (!router) return Fail(Errc::kInvalidArgument, "HTTP server without a router");
  std::error_code ec;
  if (options.temp_dir.empty()) options.temp_dir = std::filesystem::temp_directory_path(ec);
  if (!std::filesystem::is_directory(options.temp_dir, ec)) {
    return Fail(Errc::kInvalidArgument,
                "temporary directory " + options.temp_dir.string() + " does not exist");
  }
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (options.tls) {
    auto made = MakeTlsContext(*options.tls);
    if (!made) return std::unexpected(made.error());
    tls = std::move(*made);
  }
  const unsigned threads =
      options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  auto context = std::make_shared<ServerContext>(std::move(options));
  context->SetTls(std::move(tls));
  context->router = std::move(router);
  auto server = std::make_unique<ServerImpl>(std::move(context), threads);
  UH_TRY(server->Listen());
  server->Run();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace uh::server::http
