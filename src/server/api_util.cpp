#include "server/api_util.hpp"

#include <charconv>

#include "core/json.hpp"

namespace uh::server {

std::optional<std::int64_t> ParseId(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

Expected<nlohmann::json> JsonObjectBody(const http::Request& request, bool allow_empty) {
  if (allow_empty && request.body.empty()) return nlohmann::json::object();
  auto body = ParseJson(request.body, {.max_depth = 8, .max_bytes = 1024 * 1024});
  if (!body) return body;
  if (!body->is_object()) return Fail(Errc::kMalformed, "the body must be a JSON object");
  return body;
}

}  // namespace uh::server
