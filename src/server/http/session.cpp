#include "server/http/session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <limits>
#include <string_view>

#include "server/http/text.hpp"
#include "server/http/tls_context.hpp"
#include "server/http/wire.hpp"

namespace uh::server::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// After an error answer the client may still be sending a body we will not read; reading and
// discarding a little of it before closing keeps the kernel from resetting the connection
// before the client has read our answer.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::uint64_t kMaxDrainBytes = 8 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Errors of the peer's bytes (answered with 400), as opposed to the peer going away.
bool IsParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Writing a streamed body failed for want of room: the disk is full (ENOSPC) or the file is
// larger than the process may write (EFBIG, RLIMIT_FSIZE). The client gets 507, not a reset.
bool IsStorageFull(const beast::error_code& ec) {
  return ec == boost::system::errc::no_space_on_device || ec == boost::system::errc::file_too_large;
}

template <class Stream>
Stream MakeStream(asio::ssl::context* tls, asio::ip::tcp::socket socket) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    return Stream(std::move(socket));
  } else {
    return Stream(std::move(socket), *tls);
  }
}

}  // namespace

template <class Stream>
Session<Stream>::Session(std::shared_ptr<ServerContext> server, asio::ip::tcp::socket socket,
                         std::string remote)
    : server_(std::move(server)),
      tls_(kTls ? server_->CurrentTls() : nullptr),
      stream_(MakeStream<Stream>(tls_.get(), std::move(socket))),
      remote_(std::move(remote)) {}

template <class Stream>
Session<Stream>::~Session() {
  server_->per_address.Close(remote_);
  server_->connections.Remove(this);
}

template <class Stream>
void Session<Stream>::Start() {
  server_->connections.Add(this, this->weak_from_this());
  asio::dispatch(stream_.get_executor(), [self = self()] {
    if (self->server_->stopping) return self->Abort();
    if constexpr (kTls) {
      self->tcp().expires_after(self->server_->options.header_timeout);
      self->stream_.async_handshake(asio::ssl::stream_base::server, [self](ErrorCode ec) {
        if (ec) {
          spdlog::debug("TLS handshake with {} failed: {}", self->remote_, ec.message());
          return self->Abort();
        }
        self->ReadHead();
      });
    } else {
      self->ReadHead();
    }
  });
}

template <class Stream>
void Session<Stream>::CloseWhenIdle() {
  asio::post(stream_.get_executor(), [self = self()] {
    const bool idle = self->phase_ == Phase::kWaiting && self->buffer_.size() == 0 &&
                      (!self->head_parser_ || !self->head_parser_->got_some());
    if (idle) self->Abort();
  });
}

template <class Stream>
void Session<Stream>::CloseNow() {
  asio::post(stream_.get_executor(), [self = self()] { self->Abort(); });
}

template <class Stream>
void Session<Stream>::WaitForRequest() {
  phase_ = Phase::kWaiting;
  request_ = Request();
  route_ = nullptr;
  version_ = 11;
  keep_alive_ = false;
  if (server_->stopping) return Abort();      // nothing was asked that is left unanswered
  if (buffer_.size() > 0) return ReadHead();  // pipelined
  tcp().expires_after(server_->options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = self()](ErrorCode ec, std::size_t bytes) {
                            self->buffer_.commit(bytes);
                            if (ec) return self->Abort();  // closed by the client, idle, Stop
                            self->ReadHead();
                          });
}

template <class Stream>
void Session<Stream>::ReadHead() {
  phase_ = Phase::kWaiting;
  unread_input_ = true;  // until the head is parsed and the body read
  // Reads are as large as the buffer's free room (Beast's read_size, at most 64 KiB): a buffer
  // left at its first size (512 bytes, on a new connection) read uploads 512 bytes at a time.
  if (buffer_.capacity() < kReadChunk) buffer_.reserve(kReadChunk);
  head_parser_.emplace();
  head_parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      server_->options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  head_parser_->body_limit(boost::none);  // the route decides, once it is known
  tcp().expires_after(server_->options.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *head_parser_,
                           [self = self()](ErrorCode ec, std::size_t) { self->OnHead(ec); });
}

template <class Stream>
void Session<Stream>::OnHead(ErrorCode ec) {
  // Requests answered before they are parsed (431, 400) are timed from here too.
  request_.received = std::chrono::steady_clock::now();
  if (ec == bhttp::error::header_limit) {
    return Send(Response::Error(431, "request header fields too large"), true);
  }
  if (IsParseError(ec)) return Send(Response::Error(400, "malformed request"), true);
  if (ec) return Abort();  // gone, or too slow
  phase_ = Phase::kBusy;
  const auto& head = head_parser_->get();
  version_ = head.version();
  keep_alive_ = head.keep_alive();
  auto request = ToRequest(head, remote_);
  if (!request) return Send(Response::FromError(request.error()), true);
  request_ = std::move(*request);
  if constexpr (kTls) {
    request_.tls = true;
    request_.peer_certificates = PeerCertificateChain(stream_.native_handle());
  }

  const bool has_body = !head_parser_->is_done();
  unread_input_ = has_body;
  if (auto wait = server_->TakeRequest(remote_)) {
    return Send(TooManyRequests(*wait, "too many requests from this address"), has_body);
  }
  auto match = server_->router->Find(request_.method, request_.path);
  if (match.route == nullptr) {
    if (match.status != 405) return Send(Response::Error(404, "not found"), has_body);
    auto response = Response::Error(405, "method not allowed");
    response.SetHeader("Allow", AllowedMethods(*server_->router, request_.path));
    return Send(std::move(response), has_body);
  }
  route_ = match.route;
  request_.route = route_;
  request_.params = std::move(match.params);

  const RouteOptions& options = route_->options;
  if (options.admit) {
    std::optional<Response> refused;
    try {
      refused = options.admit(request_);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: admission failed: {}", MethodName(request_.method), request_.target,
                    e.what());
      refused = Response::Error(500, "internal error");
    }
    if (refused) return Send(std::move(*refused), has_body);
  }
  const std::uint64_t limit = options.body_to_file || options.body_sink
                                  ? options.max_file_body_bytes
                                  : options.max_body_bytes;
  if (const auto length = head_parser_->content_length(); length && *length > limit) {
    return Send(Response::Error(413, "request body too large"), true);
  }
  if (has_body && version_ >= 11 && EqualsIgnoreCase(head[bhttp::field::expect], "100-continue")) {
    tcp().expires_after(server_->options.write_timeout);
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = self()](ErrorCode write_ec, std::size_t) {
                        if (write_ec) return self->Abort();
                        self->StartBody();
                      });
    return;
  }
  StartBody();
}

template <class Stream>
void Session<Stream>::StartBody() {
  const RouteOptions& options = route_->options;
  body_deadline_set_ = {};
  if (options.body_sink) {
    Expected<std::shared_ptr<BodySink>> sink = Fail(Errc::kInternal, "internal error");
    try {
      sink = options.body_sink(request_);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: starting its body failed: {}", MethodName(request_.method),
                    request_.target, e.what());
    }
    if (!sink) return Send(Response::FromError(sink.error()), true);
    sink_parser_.emplace(std::move(*head_parser_));
    head_parser_.reset();
    sink_parser_->body_limit(options.max_file_body_bytes);
    sink_parser_->get().body().sink = std::move(*sink);
    return ReadBody(*sink_parser_);
  }
  if (!options.body_to_file) {
    text_parser_.emplace(std::move(*head_parser_));
    head_parser_.reset();
    text_parser_->body_limit(options.max_body_bytes);
    return ReadBody(*text_parser_);
  }
  auto temp = TempFile::Create(server_->options.temp_dir);
  if (!temp) {
    spdlog::error("cannot store a request body: {}", temp.error().message());
    if (temp.error().code() == Errc::kNoSpace) {
      // The message names the server's temporary directory: it stays in the log.
      return Send(Response::Error(507, "insufficient storage: No space left on device"), true);
    }
    return Send(Response::Error(500, "cannot store request body"), true);
  }
  upload_.emplace(std::move(*temp));
  file_parser_.emplace(std::move(*head_parser_));
  head_parser_.reset();
  file_parser_->body_limit(options.max_file_body_bytes);
  beast::file file;
  file.native_handle(upload_->ReleaseFd());
  ErrorCode ec;
  file_parser_->get().body().reset(std::move(file), ec);
  if (ec) return Send(Response::Error(500, "cannot store request body"), true);
  ReadBody(*file_parser_);
}

template <class Stream>
template <class Parser>
void Session<Stream>::ReadBody(Parser& parser) {
  if (parser.is_done()) return Dispatch();
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (now - body_deadline_set_ >=
      std::chrono::duration_cast<Clock::duration>(server_->options.body_timeout) / 8) {
    tcp().expires_after(server_->options.body_timeout);
    body_deadline_set_ = now;
  }
  bhttp::async_read_some(
      stream_, buffer_, parser,
      [self = self(), &parser](ErrorCode ec, std::size_t) { self->OnBody(parser, ec); });
}

template <class Stream>
template <class Parser>
void Session<Stream>::OnBody(Parser& parser, ErrorCode ec) {
  if constexpr (std::is_same_v<Parser, bhttp::request_parser<SinkBody>>) {
    if (auto& error = parser.get().body().error) return Send(Response::FromError(*error), true);
  }
  if (ec == bhttp::error::body_limit) {
    return Send(Response::Error(413, "request body too large"), true);
  }
  if (IsParseError(ec)) return Send(Response::Error(400, "malformed request body"), true);
  if (IsStorageFull(ec)) {
    spdlog::error("storing a request body from {}: {}", remote_, ec.message());
    return Send(Response::Error(507, "insufficient storage: " + ec.message()), true);
  }
  if (ec) return Abort();
  ReadBody(parser);
}

template <class Stream>
void Session<Stream>::Dispatch() {
  unread_input_ = false;
  if (file_parser_) {
    file_parser_->get().body().close();
    request_.body_file = upload_->path();
  } else if (sink_parser_) {
    request_.body_sink = std::move(sink_parser_->get().body().sink);
  } else {
    request_.body = std::move(text_parser_->get().body());
  }
  Response response;
  try {
    response = route_->handler(request_);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: handler failed: {}", MethodName(request_.method), request_.target,
                  e.what());
    response = Response::Error(500, "internal error");
  } catch (...) {
    spdlog::error("{} {}: handler failed", MethodName(request_.method), request_.target);
    response = Response::Error(500, "internal error");
  }
  upload_.reset();             // unless the handler took the file away (renamed it), it goes now
  request_.body_sink.reset();  // and what the sink kept (its files) with it
  Revalidate(request_, response);
  Send(std::move(response), false);
}

template <class Stream>
void Session<Stream>::Send(Response response, bool close) {
  phase_ = Phase::kBusy;
  close = close || !keep_alive_ || server_->stopping;
  auto wire = ToWire(std::move(response), request_.method == Method::kHead, version_, !close);
  status_ = wire.status;
  response_.emplace(std::move(wire.message));
  bytes_sent_ = 0;
  close_after_ = close;
  WriteSome();
}

template <class Stream>
void Session<Stream>::WriteSome() {
  if (response_->is_done()) return Finish(true);
  ErrorCode ec;
  const auto buffers = response_->prepare(ec);
  if (ec || beast::buffer_bytes(buffers) == 0) {
    spdlog::warn("sending a response to {}: {}", remote_, ec ? ec.message() : "no data");
    return Finish(false);
  }
  tcp().expires_after(server_->options.write_timeout);
  stream_.async_write_some(buffers, [self = self()](ErrorCode write_ec, std::size_t bytes) {
    self->OnWritten(write_ec, bytes);
  });
}

template <class Stream>
void Session<Stream>::OnWritten(ErrorCode ec, std::size_t bytes) {
  bytes_sent_ += bytes;
  if (ec) return Finish(false);
  response_->consume(bytes);
  WriteSome();
}

template <class Stream>
void Session<Stream>::Finish(bool sent) {
  response_.reset();
  if (const auto& on_response = server_->options.on_response) {
    try {
      on_response(request_, status_, bytes_sent_);
    } catch (const std::exception& e) {
      spdlog::error("on_response failed: {}", e.what());
    }
  }
  head_parser_.reset();
  text_parser_.reset();
  file_parser_.reset();
  sink_parser_.reset();
  upload_.reset();
  if (!sent) return Abort();
  if (close_after_) return Close();
  WaitForRequest();
}

template <class Stream>
void Session<Stream>::Close() {
  if (!unread_input_) return Abort();
  phase_ = Phase::kClosing;
  tcp().expires_after(kLingerTime);
  if constexpr (kTls) {
    stream_.async_shutdown([self = self()](ErrorCode) { self->Abort(); });
  } else {
    ErrorCode ignored;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    Drain();
  }
}

template <class Stream>
void Session<Stream>::Drain() {
  tcp().async_read_some(buffer_.prepare(kReadChunk), [self = self()](ErrorCode ec, std::size_t n) {
    self->drained_ += n;
    if (ec || self->drained_ > kMaxDrainBytes) return self->Abort();
    self->Drain();
  });
}

template <class Stream>
void Session<Stream>::Abort() {
  phase_ = Phase::kClosing;
  tcp().close();
}

template class Session<beast::tcp_stream>;
template class Session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace uh::server::http
