#pragma once

// One client connection: a loop of request head, route, body, handler, response, on one strand.
// Instantiated for plain TCP (beast::tcp_stream) and TLS (beast::ssl_stream over it).
//
// Timeouts: the TLS handshake and each request head must arrive within header_timeout; a
// keep-alive connection may wait idle_timeout for its next request. Bodies and responses are
// bounded by progress, not total time (as nginx's client_body_timeout and send_timeout): each
// write of a chunk gets write_timeout, and a body's reads are given body_timeout again whenever
// an eighth of it has passed since it was last given (not at every read: that cost a system
// call per read), so a large upload or download on a slow link completes while a peer stalled
// for between 7/8 and all of body_timeout is dropped.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "server/http/connection.hpp"
#include "server/http/temp_file.hpp"

namespace uh::server::http {

// A Beast body that hands the bytes to a BodySink as they are parsed (RouteOptions::body_sink).
struct SinkBody {
  struct value_type {
    std::shared_ptr<BodySink> sink;
    std::optional<Error> error;  // what the sink failed with
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>& /*head*/, value_type& body)
        : body_(body) {}
    void init(const boost::optional<std::uint64_t>& /*length*/, boost::beast::error_code& ec) {
      ec = {};
    }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      std::size_t used = 0;
      for (const auto buffer : boost::beast::buffers_range_ref(buffers)) {
        auto written =
            body_.sink->Write({static_cast<const std::byte*>(buffer.data()), buffer.size()});
        if (!written) {
          body_.error = std::move(written.error());
          ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
          return used;
        }
        used += buffer.size();
      }
      ec = {};
      return used;
    }
    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

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
  std::optional<boost::beast::http::request_parser<SinkBody>> sink_parser_;
  // When the body's reads were last given body_timeout (see above).
  std::chrono::steady_clock::time_point body_deadline_set_{};
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
