#pragma once

// Translation between Beast's messages and the library-independent Request and Response.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <string>

#include "core/error.hpp"
#include "server/http/http.hpp"

namespace uh::server::http {

using RequestHead = boost::beast::http::request<boost::beast::http::empty_body>;

// Method, target, path, query, headers and remote address of a parsed request head. Fails
// (kMalformed) on a target that is not an origin-form path, on bad percent-escapes and on
// segments that could walk out of a directory: "." and ".." or an encoded '/'.
[[nodiscard]] Expected<Request> ToRequest(const RequestHead& head, std::string remote_address);

struct WireResponse {
  boost::beast::http::message_generator message;
  int status;  // as sent: a FileBody whose file is gone becomes a 404
};

// The response as it goes on the wire. The server owns Content-Length (always set, from the
// body), Connection and Transfer-Encoding; handlers' values for them are dropped. `head`
// sends only the header, with the Content-Length a GET would have had.
[[nodiscard]] WireResponse ToWire(Response response, bool head, unsigned version, bool keep_alive);

// The methods a 405 answer lists in its Allow header.
[[nodiscard]] std::string AllowedMethods(const Router& router, std::string_view path);

}  // namespace uh::server::http
