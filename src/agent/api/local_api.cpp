#include "agent/api/local_api.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>
#include <optional>
#include <thread>
#include <utility>

namespace uh::agent {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// How long a closing connection is drained, so that the client reads our answer instead of a
// reset (closing a socket with unread input resets the connection).
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr auto kAcceptPause = std::chrono::milliseconds(200);

// What the connections share.
struct SessionContext {
  AgentControl& control;
  const LogBuffer& log;
  LocalApiOptions options;
  std::size_t active_connections = 0;  // server thread only
  // Calls into the daemon, one at a time, off the server thread: a probe may take minutes and
  // the log must stay readable meanwhile.
  net::thread_pool agent_worker{1};
};

}  // namespace

struct LocalApiServer::Impl {
  Impl(AgentControl& control, const LogBuffer& log, LocalApiOptions options)
      : context{control, log, options, 0} {}

  void Accept();
  void Run();

  SessionContext context;
  std::uint16_t port = 0;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_pause{ioc};
  std::thread thread;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, SessionContext& server)
      : stream_(std::move(socket)),
        server_(server),
        buffer_(server.options.max_header_bytes + 4096) {
    ++server_.active_connections;
  }
  ~Session() { --server_.active_connections; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Read() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    // One deadline for the whole request, however slowly it trickles in.
    stream_.expires_after(server_.options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

 private:
  void OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    const auto expect = parser_->get()[http::field::expect];
    if (!beast::iequals(expect, "100-continue")) return ReadBody();
    // curl sends larger bodies only once told to go on (or after waiting a second).
    continue_ = {http::status::continue_, parser_->get().version()};
    http::async_write(stream_, continue_,
                      [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                        if (write_ec) return self->Close();
                        self->ReadBody();
                      });
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    auto& request = parser_->get();
    const bool keep_alive = request.keep_alive();
    ApiRequest api{std::string(request.method_string()), std::string(request.target()),
                   std::move(request.body())};
    if (!CallsAgent(api)) return Answer(Handle(api), !keep_alive);

    stream_.expires_never();  // the daemon takes the time it needs
    net::post(server_.agent_worker,
              [self = shared_from_this(), api = std::move(api), close = !keep_alive]() mutable {
                ApiResponse response = self->Handle(api);
                const auto executor = self->stream_.get_executor();
                // The session goes back to the server thread with the answer: it must not end here.
                net::post(executor, [self = std::move(self), response = std::move(response),
                                     close] { self->Answer(response, close); });
              });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Answer(ErrorResponse(413, "request body too large"), true);
    }
    if (ec == http::error::header_limit) {
      return Answer(ErrorResponse(431, "request header too large"), true);
    }
    Answer(ErrorResponse(400, "malformed HTTP request"), true);
  }

  ApiResponse Handle(const ApiRequest& request) {
    try {
      return HandleApiRequest(request, server_.control, server_.log);
    } catch (const std::exception& e) {
      // The daemon's side threw: the API answers and stays up.
      spdlog::error("local API: {} {}: {}", request.method, request.target, e.what());
      return ErrorResponse(500, "internal error");
    }
  }

  void Answer(const ApiResponse& answer, bool close) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(http::field::content_type, "application/json");
    if (!answer.allow.empty()) response_.set(http::field::allow, answer.allow);
    response_.body() = answer.body;
    response_.keep_alive(!close);
    response_.prepare_payload();
    stream_.expires_after(server_.options.request_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                        if (ec) return self->Close();
                        if (close) return self->Linger();
                        self->Read();
                      });
  }

  // Half-closes, then reads and drops what the client still sends, briefly.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  SessionContext& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> response_;
  std::array<char, 4096> scratch_{};
  std::size_t drained_ = 0;
};

}  // namespace

void LocalApiServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (context.active_connections >= context.options.max_connections) {
        spdlog::warn("local API: too many connections, dropping one");
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), context)->Read();
      }
    } else {
      // Out of file descriptors, most likely: wait instead of spinning on the error.
      spdlog::warn("local API: accept: {}", ec.message());
      accept_pause.expires_after(kAcceptPause);
      accept_pause.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    Accept();
  });
}

void LocalApiServer::Impl::Run() {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("local API: {}", e.what());
    }
  }
}

Expected<ListenAddress> ParseListenAddress(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return Fail(Errc::kInvalidArgument,
                "listen address '" + std::string(listen) + "' is not HOST:PORT");
  }
  std::string_view host = listen.substr(0, colon);
  const std::string_view port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Fail(Errc::kInvalidArgument,
                "IPv6 listen address '" + std::string(listen) + "' needs brackets: [ADDRESS]:PORT");
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return Fail(Errc::kInvalidArgument, "bad port in listen address '" + std::string(listen) + "'");
  }
  return ListenAddress{host.empty() ? std::string("localhost") : std::string(host),
                       static_cast<std::uint16_t>(port)};
}

namespace {

Expected<tcp::endpoint> ResolveListenAddress(net::io_context& ioc, const ListenAddress& address) {
  if (address.host == "localhost")
    return tcp::endpoint(net::ip::address_v4::loopback(), address.port);
  beast::error_code ec;
  const auto ip = net::ip::make_address(address.host, ec);
  if (!ec) return tcp::endpoint(ip, address.port);
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec || results.empty()) {
    return Fail(Errc::kInvalidArgument,
                "cannot resolve listen host '" + address.host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

LocalApiServer::LocalApiServer(std::unique_ptr<Impl> impl, std::uint16_t port)
    : impl_(std::move(impl)), port_(port) {}

LocalApiServer::~LocalApiServer() { Stop(); }

Expected<std::unique_ptr<LocalApiServer>> LocalApiServer::Start(std::string_view listen,
                                                                AgentControl& control,
                                                                const LogBuffer& log,
                                                                LocalApiOptions options) {
  auto address = ParseListenAddress(listen);
  if (!address) return std::unexpected(std::move(address.error()));
  auto impl = std::make_unique<Impl>(control, log, options);
  auto endpoint = ResolveListenAddress(impl->ioc, *address);
  if (!endpoint) return std::unexpected(std::move(endpoint.error()));

  beast::error_code ec;
  const auto fail = [&](std::string_view what) {
    return Fail(Errc::kIo, "local API: " + std::string(what) + " " + std::string(listen) + ": " +
                               ec.message());
  };
  if (impl->acceptor.open(endpoint->protocol(), ec); ec) return fail("open");
  if (impl->acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return fail("set options of");
  }
  if (impl->acceptor.bind(*endpoint, ec); ec) return fail("bind");
  if (impl->acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return fail("listen on");
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the port of");

  impl->Accept();
  impl->thread = std::thread([raw = impl.get()] { raw->Run(); });
  spdlog::info("local API listening on {}:{}", address->host, impl->port);
  const std::uint16_t port = impl->port;
  return std::unique_ptr<LocalApiServer>(new LocalApiServer(std::move(impl), port));
}

void LocalApiServer::Stop() {
  if (!impl_) return;
  // On the server thread, after any answer being written: no handler runs after this one.
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->ioc.stop();
  });
  impl_->thread.join();
  // Waits for a daemon call in progress; its answer is dropped with the io_context.
  impl_->context.agent_worker.join();
  impl_.reset();  // closes the connections left
}

}  // namespace uh::agent
