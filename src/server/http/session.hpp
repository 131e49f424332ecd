#pragma once

// One client connection: a loop of request head, route, body, handler, response, on one strand.
// Instantiated for plain TCP (beast::tcp_stream) and TLS (beast::ssl_stream over it).
//
// Timeouts: the TLS handshake and each request head must arrive within header_timeout; a
// keep-alive connection may wait idle_timeout for its next request. Bodies and responses are
// bounded by progress, not total time (as nginx's client_body_timeout and send_timeout): each
// read or write of a chunk gets body_timeout or write_timeout, so a large upload or download on
// a slow link completes while a stalled peer is dropped.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "server/http/connection.hpp"
#include "server/http/temp_file.hpp"

namespace uh::server::http {

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `remote` is the client's address, whose connection count (ServerContext::per_address) the
  // session closes when it goes.
  Session(std::shared_ptr<ServerContext> server, boost::asio::ip::tcp::socket socket,
          std::string remote);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Registers with the server and starts serving (on the connection's strand).
  void Start();
  void CloseWhenIdle() override;
  void CloseNow() override;

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, boost::beast::tcp_stream>;
  enum class Phase { kWaiting, kBusy, kClosing };
  using ErrorCode = boost::beast::error_code;

  boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }
  std::shared_ptr<Session> self() { return this->shared_from_this(); }

  void WaitForRequest();
  void ReadHead();
  void OnHead(ErrorCode ec);
  void StartBody();
  template <class Parser>
  void ReadBody(Parser& parser);
  template <class Parser>
  void OnBody(Parser& parser, ErrorCode ec);
  void Dispatch();
  void Send(Response response, bool close);
  void WriteSome();
  void OnWritten(ErrorCode ec, std::size_t bytes);
  void Finish(bool sent);
  // After an answer with "Connection: close"; lingers if the client may still be sending.
  void Close();
  void Drain();
  void Abort();

  std::shared_ptr<ServerContext> server_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // TLS: outlives stream_, across reloads
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string remote_;
  Phase phase_ = Phase::kWaiting;
  std::uint64_t drained_ = 0;

  // The request in flight.
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> head_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> text_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::file_body>> file_parser_;
  std::optional<TempFile> upload_;
  Request request_;
  const Route* route_ = nullptr;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool unread_input_ = false;  // the client may still be sending: linger before closing

  // The response in flight.
  std::optional<boost::beast::http::message_generator> response_;
  int status_ = 0;
  std::uint64_t bytes_sent_ = 0;
  bool close_after_ = false;
};

using PlainSession = Session<boost::beast::tcp_stream>;
using TlsSession = Session<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace uh::server::http
