#include "sim/beast_client.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <limits>

#include "protocol/names.hpp"
#include "protocol/url.hpp"

namespace uh::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

Error FromCode(const beast::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) return Error(Errc::kTimeout, std::string(what) + ": timed out");
  if (ec == asio::error::operation_aborted) {
    return Error(Errc::kCancelled, std::string(what) + ": cancelled");
  }
  // The parser's errors, but for the connection ending early: the server sent something else
  // than HTTP (IsConnectionFailure is for servers that cannot be reached).
  const bool ended = ec == http::error::end_of_stream || ec == http::error::partial_message;
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() && !ended) {
    return Error(Errc::kMalformed, std::string(what) + ": " + ec.message());
  }
  return Error(Errc::kIo, std::string(what) + ": " + ec.message());
}

// The server closed a kept-alive connection before this request reached it.
bool StaleConnection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct BeastHttpClient::Endpoints {
  tcp::resolver::results_type results;
};

// One keep-alive connection serving one request at a time.
class BeastHttpClient::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(BeastHttpClient& owner, asio::io_context& io) : owner_(&owner), stream_(io) {}

  void Start(Pending pending) {
    pending_ = std::move(pending);
    response_ = HttpResponse{};
    response_.queued = Since(pending_.queued_at);
    started_ = Clock::now();
    retried_ = false;
    BuildRequest();
    if (stream_.socket().is_open()) {
      reused_ = true;
      Write();
    } else {
      Connect();
    }
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  void Detach() { owner_ = nullptr; }

 private:
  void BuildRequest() {
    const HttpRequest& in = pending_.request;
    const auto& options = owner_->options_;
    request_ = {};
    request_.version(11);
    request_.method(in.post ? http::verb::post : http::verb::get);
    request_.target(options.address.base_path + in.target);
    request_.set(http::field::host, owner_->host_header_);
    request_.set(http::field::user_agent, options.user_agent);
    request_.set(protocol::kApiContentTypeHeader, protocol::kApiContentType);
    if (in.post) request_.set(http::field::content_type, protocol::kJsonContentType);
    if (in.api_retries) request_.set(protocol::kApiRetriesHeader, std::to_string(*in.api_retries));
    if (in.range_start) request_.set(http::field::range, protocol::RangeFrom(*in.range_start));
    if (options.product_token) request_.set(protocol::kProductTokenHeader, *options.product_token);
    request_.keep_alive(true);
    if (in.post) request_.body() = in.body;
    request_.prepare_payload();
  }

  void Connect() {
    reused_ = false;
    ++owner_->connects_;
    stream_.expires_after(owner_->options_.timeout);
    stream_.async_connect(owner_->endpoints_->results,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            self->OnConnect(ec);
                          });
  }

  void OnConnect(beast::error_code ec) {
    if (ec) return Finish(std::unexpected(FromCode(ec, kConnecting)));
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    Write();
  }

  void Write() {
    stream_.expires_after(owner_->options_.timeout);
    http::async_write(
        stream_, request_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return Retry(ec, "sending the request");
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(owner_->options_.timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, std::size_t) { self->OnHead(error); });
  }

  // A reused connection the server had closed: once more on a new one.
  void Retry(beast::error_code ec, std::string_view what) {
    if (reused_ && !retried_ && StaleConnection(ec) && buffer_.size() == 0) {
      retried_ = true;
      Close();
      Connect();
      return;
    }
    Finish(std::unexpected(FromCode(ec, what)));
  }

  void OnHead(beast::error_code ec) {
    if (ec) return Retry(ec, "reading the answer");
    const auto& head = parser_->get();
    response_.status = static_cast<int>(head.result_int());
    for (const auto& field : head) {
      response_.headers.emplace_back(Lowercase(field.name_string()), std::string(field.value()));
    }
    if (pending_.request.on_head && !pending_.request.on_head(response_)) return Abandon();
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Done();
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    stream_.expires_after(owner_->options_.timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return Finish(std::unexpected(FromCode(ec, "reading the body")));
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    const std::string_view data(chunk_.data(), got);
    if (pending_.request.on_body) {
      if (got > 0 && !pending_.request.on_body(data)) return Abandon();
    } else if (response_.body.size() + got > kMaxCollectedBody) {
      Close();
      return Finish(Fail(Errc::kTooLarge, "the answer is larger than " +
                                              std::to_string(kMaxCollectedBody) + " bytes"));
    } else {
      response_.body.append(data);
    }
    ReadBody();
  }

  void Done() {
    if (!parser_->get().keep_alive()) Close();
    response_.elapsed = Since(started_);
    Finish(std::move(response_));
  }

  void Abandon() {
    Close();  // the rest of the answer will never be read
    response_.abandoned = true;
    response_.elapsed = Since(started_);
    Finish(std::move(response_));
  }

  void Finish(Expected<HttpResponse> result) {
    if (!result) Close();  // whatever state it is in, it is not reusable
    parser_.reset();
    buffer_.clear();
    HttpCallback done = std::move(pending_.done);
    pending_ = Pending{};
    if (owner_ == nullptr) return;  // the client is gone
    owner_->Release(this);
    done(std::move(result));
  }

  BeastHttpClient* owner_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 32 * 1024> chunk_{};
  Pending pending_;
  HttpResponse response_;
  Clock::time_point started_{};
  bool reused_ = false;
  bool retried_ = false;
};

Expected<std::unique_ptr<BeastHttpClient>> BeastHttpClient::Create(asio::io_context& io,
                                                                   BeastClientOptions options) {
  std::unique_ptr<BeastHttpClient> client(new BeastHttpClient(io, std::move(options)));
  tcp::resolver resolver(io);
  beast::error_code ec;
  const auto& address = client->options_.address;
  client->endpoints_->results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec) {
    return Fail(Errc::kIo, "resolving " + address.host + ": " + ec.message());
  }
  return client;
}

BeastHttpClient::BeastHttpClient(asio::io_context& io, BeastClientOptions options)
    : io_(io), options_(std::move(options)), endpoints_(std::make_unique<Endpoints>()) {
  const auto& address = options_.address;
  const bool v6 = address.host.find(':') != std::string::npos;
  host_header_ = (v6 ? "[" + address.host + "]" : address.host);
  if (address.port != 80) host_header_ += ":" + std::to_string(address.port);
}

BeastHttpClient::~BeastHttpClient() {
  for (auto& connection : connections_) {
    connection->Detach();
    connection->Close();
  }
}

void BeastHttpClient::Send(HttpRequest request, HttpCallback done) {
  if (shut_down_) {
    asio::post(io_, [done = std::move(done)] {
      done(Fail(Errc::kCancelled, "the HTTP client is shut down"));
    });
    return;
  }
  queue_.push_back(Pending{std::move(request), std::move(done), Clock::now()});
  Dispatch();
}

void BeastHttpClient::Dispatch() {
  while (!queue_.empty() && !shut_down_) {
    Connection* connection = nullptr;
    if (!idle_.empty()) {
      connection = idle_.back();
      idle_.pop_back();
    } else if (connections_.size() < options_.connections) {
      connections_.push_back(std::make_shared<Connection>(*this, io_));
      connection = connections_.back().get();
    } else {
      return;  // every connection is busy: the queue waits
    }
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    connection->Start(std::move(next));
  }
}

void BeastHttpClient::Release(Connection* connection) {
  idle_.push_back(connection);
  Dispatch();
}

void BeastHttpClient::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& pending : queue_) {
    asio::post(io_, [done = std::move(pending.done)] {
      done(Fail(Errc::kCancelled, "the HTTP client is shut down"));
    });
  }
  queue_.clear();
  for (auto& connection : connections_) connection->Close();
}

}  // namespace uh::sim
