#include "sim/http_client.hpp"

namespace uh::sim {

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace uh::sim
