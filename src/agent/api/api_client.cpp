#include "agent/api/api_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "agent/api/local_api.hpp"

namespace uh::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxReplyBytes = 8 * 1024 * 1024;
constexpr std::chrono::milliseconds kConnectTimeout{5000};

}  // namespace

LocalApiClient::LocalApiClient(std::string_view address) {
  if (address.starts_with("http://")) address.remove_prefix(7);
  while (address.ends_with('/')) address.remove_suffix(1);
  address_ = std::string(address);
}

Expected<ApiReply> LocalApiClient::Get(std::string_view path,
                                       std::chrono::milliseconds timeout) const {
  return Perform(false, path, std::nullopt, timeout);
}

Expected<ApiReply> LocalApiClient::Post(std::string_view path,
                                        const std::optional<std::string>& json_body,
                                        std::chrono::milliseconds timeout) const {
  return Perform(true, path, json_body, timeout);
}

// Boost.Beast over plain TCP (the agent is local: no proxy, no TLS), so that `updatehub` links
// no HTTP library of its own. Beast's deadlines work on asynchronous operations: the request is
// a chain of them, run to completion here.
Expected<ApiReply> LocalApiClient::Perform(bool post, std::string_view path,
                                           const std::optional<std::string>& json_body,
                                           std::chrono::milliseconds timeout) const {
  const std::string unreachable = "cannot reach the agent at " + address_;
  auto where = ParseListenAddress(address_);
  if (!where) return Fail(Errc::kInvalidArgument, unreachable + ": " + where.error().message());
  const std::string host = where->host == "localhost" ? "127.0.0.1" : where->host;

  http::request<http::string_body> request{post ? http::verb::post : http::verb::get,
                                           std::string(path), 11};
  request.set(http::field::host, address_);
  request.set(http::field::connection, "close");
  if (json_body) {
    request.set(http::field::content_type, "application/json");
    request.body() = *json_body;
  }
  request.prepare_payload();

  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  beast::error_code failure;
  bool connected = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  const auto read = [&](beast::error_code ec, std::size_t) {
    if (ec) {
      failure = ec;
      return;
    }
    http::async_read(stream, buffer, parser,
                     [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
  };
  resolver.async_resolve(
      host, std::to_string(where->port),
      [&](beast::error_code ec, const asio::ip::tcp::resolver::results_type& results) {
        if (ec) {
          failure = ec;
          return;
        }
        stream.expires_after(std::min(kConnectTimeout, timeout));
        stream.async_connect(results,
                             [&](beast::error_code connect_ec, const asio::ip::tcp::endpoint&) {
                               if (connect_ec) {
                                 failure = connect_ec;
                                 return;
                               }
                               connected = true;
                               stream.expires_at(deadline);
                               http::async_write(stream, request, read);
                             });
      });
  io.run();

  if (failure == http::error::body_limit) {
    return Fail(Errc::kTooLarge, "the agent at " + address_ + " answered more than " +
                                     std::to_string(kMaxReplyBytes) + " bytes");
  }
  if (failure && !connected) {
    return Fail(Errc::kIo, unreachable + " (is the daemon running?): " + failure.message());
  }
  if (failure == beast::error::timeout) {
    return Fail(Errc::kTimeout, "the agent at " + address_ + " did not answer in time");
  }
  if (failure)
    return Fail(Errc::kIo, "talking to the agent at " + address_ + ": " + failure.message());
  ApiReply reply;
  reply.status = parser.get().result_int();
  reply.body = std::move(parser.get().body());
  return reply;
}

}  // namespace uh::agent
