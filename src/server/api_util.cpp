#include "server/api_util.hpp"

#include <algorithm>
#include <charconv>

#include "core/json.hpp"

namespace uh::server {

std::optional<std::int64_t> ParseId(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<std::size_t> ParseLimit(const std::string& text) {
  auto value = ParseId(text);
  if (!value || *value < 1 || *value > kMaxPageLimit) return std::nullopt;
  return static_cast<std::size_t>(*value);
}

bool ApplyPagingParam(const std::string& key, const std::string& value, std::string_view what,
                      std::int64_t& before_id, std::size_t& limit, std::string& error) {
  if (key == "before") {
    const auto id = ParseId(value);
    if (id) {
      before_id = *id;
    } else {
      error = "'before' must be " + std::string(what) + " id";
    }
    return true;
  }
  if (key == "limit") {
    const auto parsed = ParseLimit(value);
    if (parsed) {
      limit = *parsed;
    } else {
      error = "'limit' must be 1 to 1000";
    }
    return true;
  }
  return false;
}

Expected<nlohmann::json> JsonObjectBody(const http::Request& request, bool allow_empty) {
  if (allow_empty && request.body.empty()) return nlohmann::json::object();
  auto body = ParseJson(request.body, {.max_depth = 8, .max_bytes = 1024 * 1024});
  if (!body) return body;
  if (!body->is_object()) return Fail(Errc::kMalformed, "the body must be a JSON object");
  return body;
}

Expected<std::string> StringMember(const nlohmann::json& body, const char* key, bool required) {
  if (!body.contains(key)) {
    if (required) return Fail(Errc::kMalformed, std::string("'") + key + "' is missing");
    return std::string();
  }
  if (!body[key].is_string())
    return Fail(Errc::kMalformed, std::string("'") + key + "' must be a string");
  return body[key].get<std::string>();
}

std::optional<http::Response> RefuseUnknownQuery(const http::Request& request,
                                                 std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : request.query) {
    if (std::ranges::find(known, std::string_view(key)) != known.end()) continue;
    std::string names;
    for (const auto name : known) names += (names.empty() ? "" : ", ") + std::string(name);
    return http::Response::Error(400, "unknown query parameter '" + key + "' (" + names + ")");
  }
  return std::nullopt;
}

}  // namespace uh::server
