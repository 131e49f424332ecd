// Conditional GET: an ETag on JSON answers and 304 Not Modified when the client already has
// them, so that a dashboard polling the API gets a few bytes back when nothing changed.

#include <algorithm>
#include <string_view>

#include "core/hash.hpp"
#include "server/http/http.hpp"
#include "server/http/text.hpp"

namespace uh::server::http {
namespace {

bool IsJson(const Response& response) {
  const auto type = response.FindHeader("Content-Type");
  return type && ToLower(*type).starts_with("application/json");
}

}  // namespace

bool IfNoneMatchNames(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view tag = TrimSpaces(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

void Revalidate(const Request& request, Response& response) {
  if (request.method != Method::kGet && request.method != Method::kHead) return;
  if (response.status != 200 || !IsJson(response) || response.FindHeader("ETag")) return;
  const auto* body = std::get_if<std::string>(&response.body);
  if (body == nullptr) return;
  // 128 bits of the body's sha256: the same body always gets the same tag, on every server
  // sharing a database, and a changed one a different tag.
  const std::string etag = "\"" + Sha256Hex(*body).substr(0, 32) + "\"";
  response.SetHeader("ETag", etag);
  // Answers depend on the caller's token: shared caches must not keep them, and browsers must
  // ask again each time (they then send If-None-Match).
  response.SetHeader("Cache-Control", "private, no-cache");
  if (!IfNoneMatchNames(request.Header("if-none-match"), etag)) return;
  response.status = 304;
  response.body = std::string();
  std::erase_if(response.headers,
                [](const auto& header) { return EqualsIgnoreCase(header.first, "Content-Type"); });
}

}  // namespace uh::server::http
