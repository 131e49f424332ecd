#include "sim/http_client.hpp"

#include <algorithm>
#include <cctype>

namespace uh::sim {

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    const bool same = std::ranges::equal(key, name, [](char lower, char c) {
      return lower == std::tolower(static_cast<unsigned char>(c));
    });
    if (same) return std::string_view(value);
  }
  return std::nullopt;
}

bool IsConnectionFailure(const Error& error) {
  return error.code() == Errc::kIo ||
         (error.code() == Errc::kTimeout && error.message().starts_with(kConnecting));
}

}  // namespace uh::sim
