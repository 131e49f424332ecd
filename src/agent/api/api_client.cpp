#include "agent/api/api_client.hpp"

#include <curl/curl.h>

#include <memory>

namespace uh::agent {
namespace {

constexpr std::size_t kMaxReplyBytes = 8 * 1024 * 1024;
constexpr long kConnectTimeoutMs = 5000;

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct ReplySink {
  std::string body;
  bool too_large = false;
};

std::size_t OnData(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<ReplySink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body.size() + bytes > kMaxReplyBytes) {
    sink->too_large = true;
    return 0;  // stops the transfer
  }
  sink->body.append(data, bytes);
  return bytes;
}

}  // namespace

LocalApiClient::LocalApiClient(std::string_view address) {
  if (address.starts_with("http://")) address.remove_prefix(7);
  while (address.ends_with('/')) address.remove_suffix(1);
  address_ = std::string(address);
}

Expected<ApiReply> LocalApiClient::Get(std::string_view path,
                                       std::chrono::milliseconds timeout) const {
  return Perform(false, path, std::nullopt, timeout);
}

Expected<ApiReply> LocalApiClient::Post(std::string_view path,
                                        const std::optional<std::string>& json_body,
                                        std::chrono::milliseconds timeout) const {
  return Perform(true, path, json_body, timeout);
}

Expected<ApiReply> LocalApiClient::Perform(bool post, std::string_view path,
                                           const std::optional<std::string>& json_body,
                                           std::chrono::milliseconds timeout) const {
  const std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Fail(Errc::kInternal, "curl_easy_init failed");
  CURL* handle = curl.get();
  const std::string url = "http://" + address_ + std::string(path);
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  ReplySink sink;
  char error_text[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");  // the agent is local: never via a proxy
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);
  if (post) {
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    const std::string& body = json_body ? *json_body : std::string();
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, body.c_str());
    if (json_body) {
      headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
      curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    }
  }

  const CURLcode code = curl_easy_perform(handle);
  if (sink.too_large) {
    return Fail(Errc::kTooLarge, "the agent at " + address_ + " answered more than " +
                                     std::to_string(kMaxReplyBytes) + " bytes");
  }
  if (code != CURLE_OK) {
    const std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    curl_off_t connect_time = 0;
    curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connect_time);
    if (code == CURLE_OPERATION_TIMEDOUT && connect_time > 0) {
      return Fail(Errc::kTimeout,
                  "the agent at " + address_ + " did not answer in time: " + detail);
    }
    return Fail(Errc::kIo,
                "cannot reach the agent at " + address_ + " (is the daemon running?): " + detail);
  }
  ApiReply reply;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
  reply.body = std::move(sink.body);
  return reply;
}

}  // namespace uh::agent
