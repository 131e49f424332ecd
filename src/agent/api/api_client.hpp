#pragma once

// A plain HTTP client for the agent's local API, used by `updatehub client` (Boost.Beast over
// TCP; never through a proxy).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::agent {

struct ApiReply {
  long status = 0;
  std::string body;
};

class LocalApiClient {
 public:
  // `address` is "host:port" (an "http://" in front is accepted).
  explicit LocalApiClient(std::string_view address);

  // A reply of any status is a success; failing to talk to the agent at all is an error whose
  // message starts with "cannot reach the agent at ADDRESS".
  [[nodiscard]] Expected<ApiReply> Get(std::string_view path,
                                       std::chrono::milliseconds timeout) const;
  [[nodiscard]] Expected<ApiReply> Post(std::string_view path,
                                        const std::optional<std::string>& json_body,
                                        std::chrono::milliseconds timeout) const;

  [[nodiscard]] const std::string& address() const { return address_; }

 private:
  [[nodiscard]] Expected<ApiReply> Perform(bool post, std::string_view path,
                                           const std::optional<std::string>& json_body,
                                           std::chrono::milliseconds timeout) const;

  std::string address_;
};

}  // namespace uh::agent
