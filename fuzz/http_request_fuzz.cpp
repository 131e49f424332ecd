// ToRequest on a request head as the server's sessions read it (Beast's request_parser with the
// default 16 KiB header limit), which decodes the target into a path and a query. Errors are
// kMalformed. An accepted request has a path that starts with '/', holds no NUL and no "." or
// ".." segment; its query holds no NUL; every header of the head is there under its lowercased
// name, with its value (repeated ones joined); the method is the head's when the server knows
// it. The path and query encoded again (every byte escaped but unreserved ones and '/') decode
// to the same path and query.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_check.hpp"
#include "server/http/http.hpp"
#include "server/http/wire.hpp"

namespace {

namespace bhttp = boost::beast::http;
using uh::server::http::Request;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;  // ServerOptions::max_header_bytes

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Escapes every byte but unreserved ones (RFC 3986) and those in `keep`.
std::string Encode(std::string_view text, std::string_view keep) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("-._~").find(c) != std::string_view::npos ||
        keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      char escape[4];
      std::snprintf(escape, sizeof escape, "%%%02X", u);
      out += escape;
    }
  }
  return out;
}

void CheckRequest(const Request& request, const uh::server::http::RequestHead& head) {
  UH_FUZZ_CHECK(request.path.starts_with('/'), "a path that does not start with '/'");
  UH_FUZZ_CHECK(request.path.find('\0') == std::string::npos, "a NUL in the path");
  std::string_view rest = std::string_view(request.path).substr(1);
  for (;;) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    UH_FUZZ_CHECK(segment != "." && segment != "..", "a dot segment in the path");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  for (const auto& [key, value] : request.query) {
    UH_FUZZ_CHECK(key.find('\0') == std::string::npos && value.find('\0') == std::string::npos,
                  "a NUL in the query");
  }
  UH_FUZZ_CHECK(request.target == head.target(), "the target is not the head's");
  if (request.method != uh::server::http::Method::kOther) {
    UH_FUZZ_CHECK(uh::server::http::MethodName(request.method) == head.method_string(),
                  "the method is not the head's");
  }
  for (const auto& field : head) {
    const auto it = request.headers.find(Lower(field.name_string()));
    UH_FUZZ_CHECK(it != request.headers.end(), "a header is lost");
    UH_FUZZ_CHECK(it->second.find(field.value()) != std::string::npos, "a header value is lost");
  }
  for (const auto& [name, value] : request.headers) {
    UH_FUZZ_CHECK(name == Lower(name), "a header name that is not lowercased");
  }

  // The decoded path and query, encoded again, decode to themselves.
  std::string target = Encode(request.path, "/");
  char separator = '?';
  for (const auto& [key, value] : request.query) {
    target += separator + Encode(key, "") + "=" + Encode(value, "");
    separator = '&';
  }
  uh::server::http::RequestHead again;
  again.method(bhttp::verb::get);
  again.target(target);
  auto reread = uh::server::http::ToRequest(again, "");
  UH_FUZZ_CHECK(reread.has_value(), "the target encoded again does not decode");
  UH_FUZZ_CHECK(reread->path == request.path, "the path encoded again decodes differently");
  UH_FUZZ_CHECK(reread->query == request.query, "the query encoded again decodes differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(boost::none);
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& head = parser.get();

  auto request = uh::server::http::ToRequest(head, "192.0.2.1");
  if (!request) {
    UH_FUZZ_CHECK(request.error().code() == uh::Errc::kMalformed,
                  "a bad request head is not kMalformed");
    UH_FUZZ_CHECK(!request.error().message().empty(), "an error without a message");
    return 0;
  }
  UH_FUZZ_CHECK(head.target().starts_with('/'), "a target that is not a path is accepted");
  UH_FUZZ_CHECK(request->remote_address == "192.0.2.1", "the remote address is lost");
  CheckRequest(*request, head);
  return 0;
}
