// The library-independent half of the HTTP vocabulary: method names, request accessors,
// response builders and percent-decoding. Routing, files and the server live beside it.

#include "server/http/http.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/json.hpp"
#include "server/http/text.hpp"

namespace uh::server::http {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

std::string Request::Header(std::string_view name) const {
  const auto it = headers.find(ToLower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::Param(std::string_view name) const {
  const auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

Response Response::Json(int status, const nlohmann::json& value) {
  // Replacing invalid UTF-8 keeps a handler's stray bytes from turning into an exception.
  return Text(status, DumpJson(value), "application/json");
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response response;
  response.status = status;
  response.body = std::move(text);
  response.headers.emplace_back("Content-Type", std::move(content_type));
  return response;
}

Response Response::Error(int status, std::string_view message) {
  return Json(status, nlohmann::json{{"error", message}});
}

Response Response::FromError(const uh::Error& error) {
  int status = 500;
  switch (error.code()) {
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
      status = 400;
      break;
    case Errc::kSignature:
    case Errc::kIntegrity:
      status = 422;
      break;
    case Errc::kNotFound:
      status = 404;
      break;
    case Errc::kAlreadyExists:
      status = 409;
      break;
    case Errc::kTooLarge:
      status = 413;
      break;
    case Errc::kNoSpace:
      status = 507;
      break;
    case Errc::kUnsupported:
      status = 415;
      break;
    case Errc::kTimeout:
      status = 504;
      break;
    case Errc::kCancelled:
      status = 409;
      break;
    case Errc::kForbidden:
      status = 403;
      break;
    case Errc::kIo:
    case Errc::kInternal:
      status = 500;
      break;
  }
  if (status < 500) return Error(status, error.message());
  // The server's own failures: their messages name files, SQL and system calls, which are for
  // the operator's log, not for the client.
  spdlog::error("answering {}: {}", status, error.message());
  switch (status) {
    case 507:
      return Error(status,
                   "insufficient storage: No space left on device on the server (the server log "
                   "has the details)");
    case 504:
      return Error(status, "timed out (the server log has the details)");
    default:
      return Error(status, "internal error (the server log has the details)");
  }
}

Response& Response::SetHeader(std::string name, std::string value) {
  const auto it = std::ranges::find_if(
      headers, [&](const auto& header) { return EqualsIgnoreCase(header.first, name); });
  if (it != headers.end()) {
    it->second = std::move(value);
  } else {
    headers.emplace_back(std::move(name), std::move(value));
  }
  return *this;
}

std::optional<std::string> Response::FindHeader(std::string_view name) const {
  const auto it = std::ranges::find_if(
      headers, [&](const auto& header) { return EqualsIgnoreCase(header.first, name); });
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Expected<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      const bool complete = i + 2 < text.size();
      const int high = complete ? HexValue(text[i + 1]) : -1;
      const int low = complete ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) return Fail(Errc::kMalformed, "malformed percent-escape");
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') return Fail(Errc::kMalformed, "NUL byte in URL component");
    out.push_back(c);
  }
  return out;
}

}  // namespace uh::server::http
