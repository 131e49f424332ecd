#pragma once

// Small parsing helpers shared by the management API handlers.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "server/http/http.hpp"

namespace uh::server {

// A non-negative decimal id ("after=0" is valid paging); nullopt for anything else.
[[nodiscard]] std::optional<std::int64_t> ParseId(const std::string& text);

// A page size ("limit=N"): 1 to kMaxPageLimit; nullopt for anything else.
inline constexpr std::int64_t kMaxPageLimit = 1000;
[[nodiscard]] std::optional<std::size_t> ParseLimit(const std::string& text);

// The paging parameters of a newest-first list: "before" (an id of the listed rows, `what`) and
// "limit". Returns whether `key` is one of them, with the value applied or an error message
// (for a 400) in `error`.
[[nodiscard]] bool ApplyPagingParam(const std::string& key, const std::string& value,
                                    std::string_view what, std::int64_t& before_id,
                                    std::size_t& limit, std::string& error);

// A 400 naming the first query parameter that is not one of `known` (and listing those), so
// that a misspelt filter is refused rather than ignored; nullopt when every one is known.
[[nodiscard]] std::optional<http::Response> RefuseUnknownQuery(
    const http::Request& request, std::initializer_list<std::string_view> known);

// The request body as a JSON object (at most 1 MiB, nesting 8). With `allow_empty`, an empty
// body is an empty object.
[[nodiscard]] Expected<nlohmann::json> JsonObjectBody(const http::Request& request,
                                                      bool allow_empty = false);

// body[key] as a string: "" when absent and not required; kMalformed when of another type.
[[nodiscard]] Expected<std::string> StringMember(const nlohmann::json& body, const char* key,
                                                 bool required);

}  // namespace uh::server
