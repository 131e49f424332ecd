#include "agent/client/curl_session.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <tuple>
#include <utility>

#include "protocol/names.hpp"
#include "protocol/replies.hpp"
#include "protocol/url.hpp"

namespace uh::agent::detail {
namespace {

// Headers beyond this are a broken or hostile server, not a protocol reply.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// The body of a redirect is never used; past this much the transfer is cut short.
constexpr std::size_t kMaxRedirectBodyBytes = 64 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string text) {
  std::ranges::transform(text, text.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool IsHttps(std::string_view url) { return Lower(std::string(url.substr(0, 8))) == "https://"; }

// "scheme://host:port", lowercased; empty when the URL does not parse.
std::string OriginOf(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "";
  }
  std::string origin;
  for (auto [part, flags, separator] :
       {std::tuple{CURLUPART_SCHEME, 0u, ""}, std::tuple{CURLUPART_HOST, 0u, "://"},
        std::tuple{CURLUPART_PORT, static_cast<unsigned>(CURLU_DEFAULT_PORT), ":"}}) {
    char* value = nullptr;
    if (curl_url_get(parsed.get(), part, &value, flags) != CURLUE_OK) return "";
    origin += separator;
    origin += value;
    curl_free(value);
  }
  return Lower(std::move(origin));
}

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// What the callbacks of one hop see and leave behind.
struct HopState {
  ResponseSink* sink = nullptr;
  const std::atomic<bool>* abort = nullptr;
  bool post = false;
  ResponseHead head;
  bool head_done = false;
  bool redirect = false;
  std::size_t header_bytes = 0;
  std::size_t redirect_body_bytes = 0;
  bool redirect_body_cut = false;
  bool cancelled = false;
  bool past_deadline = false;
  std::optional<Error> error;

  [[nodiscard]] bool Aborted() const { return abort != nullptr && abort->load(); }
  [[nodiscard]] bool PastDeadline() const {
    const TransferDeadline* deadline = sink->deadline();
    return deadline != nullptr && std::chrono::steady_clock::now() >= deadline->at;
  }
};

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::size_t OnHeaderLine(char* data, std::size_t size, std::size_t count, void* user) {
  auto& hop = *static_cast<HopState*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response: interim, redirect or final
    hop.head = {};
    hop.head_done = false;
    hop.redirect = false;
    const auto space = line.find(' ');
    const auto status = space == std::string_view::npos
                            ? std::nullopt
                            : protocol::ParseDecimal(line.substr(space + 1, 3));
    if (!status) {
      hop.error = Error(Errc::kMalformed, "invalid status line");
      return 0;
    }
    hop.head.status = static_cast<long>(*status);
    return n;
  }
  if (hop.head_done) return n;  // trailers after a chunked body
  hop.header_bytes += n;
  if (hop.header_bytes > kMaxHeaderBytes) {
    hop.error = Error(Errc::kMalformed, "response headers larger than 64 KiB");
    return 0;
  }
  const std::string_view content = Trim(line);
  if (content.empty()) {                  // end of the headers
    if (hop.head.status < 200) return n;  // 100 Continue and the like: the real one follows
    hop.head_done = true;
    const bool method_kept = hop.head.status == 307 || hop.head.status == 308;
    if (IsRedirect(hop.head.status) && hop.head.headers.contains("location") &&
        (!hop.post || method_kept)) {
      hop.redirect = true;
      return n;
    }
    if (auto accepted = hop.sink->OnHead(hop.head); !accepted) {
      hop.error = std::move(accepted.error());
      return 0;
    }
    return n;
  }
  const auto colon = content.find(':');
  if (colon == std::string_view::npos) return n;  // obsolete line folding: ignored
  hop.head.headers[Lower(std::string(Trim(content.substr(0, colon))))] =
      std::string(Trim(content.substr(colon + 1)));
  return n;
}

std::size_t OnBodyData(char* data, std::size_t size, std::size_t count, void* user) {
  auto& hop = *static_cast<HopState*>(user);
  const std::size_t n = size * count;
  if (hop.Aborted()) {
    hop.cancelled = true;
    return 0;
  }
  if (hop.redirect) {
    hop.redirect_body_bytes += n;
    if (hop.redirect_body_bytes <= kMaxRedirectBodyBytes) return n;
    hop.redirect_body_cut = true;
    return 0;
  }
  if (!hop.head_done) {
    hop.error = Error(Errc::kMalformed, "body before the end of the headers");
    return 0;
  }
  // Checked here too: a reply that arrives whole after the deadline must not count as in time.
  if (hop.PastDeadline()) {
    hop.past_deadline = true;
    return 0;
  }
  if (auto accepted = hop.sink->OnBody(std::string_view(data, n)); !accepted) {
    hop.error = std::move(accepted.error());
    return 0;
  }
  return n;
}

// Called by libcurl about once a second even when nothing arrives, so an abort or a deadline
// is noticed on a stalled or trickling connection too.
int OnProgressTick(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& hop = *static_cast<HopState*>(user);
  if (hop.Aborted()) return 1;
  if (hop.PastDeadline()) {
    hop.past_deadline = true;
    return 1;
  }
  return 0;
}

std::string Seconds(std::chrono::milliseconds duration) {
  const auto millis = duration.count();
  std::string text = std::to_string(millis / 1000);
  if (millis % 1000 != 0) {
    const std::string fraction = std::to_string(1000 + millis % 1000);
    text += "." + fraction.substr(1);
  }
  return text + " s";
}

Error TransportError(CURLcode code, const char* detail) {
  std::string message = *detail != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error(Errc::kTimeout, std::move(message));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:  // also what an HTTP/0.9 (garbage) reply gives
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
      return Error(Errc::kMalformed, std::move(message));
    default:
      return Error(Errc::kIo, std::move(message));
  }
}

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

void Append(HeaderList& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown != nullptr) {
    (void)list.release();
    list.reset(grown);
  }
}

}  // namespace

std::optional<TransferDeadline> DownloadDeadline(const ClientOptions& options,
                                                 std::uint64_t bytes) {
  const auto limit = DownloadTimeLimit(options, bytes);
  if (!limit) return std::nullopt;
  return TransferDeadline{.at = std::chrono::steady_clock::now() + *limit,
                          .reckoning = "past the download deadline: not over within " +
                                       Seconds(*limit) + " (an allowance of " +
                                       Seconds(options.download_time_allowance) + " plus " +
                                       std::to_string(bytes) + " bytes at the minimum rate of " +
                                       std::to_string(options.download_min_rate) + " bytes/s)"};
}

std::string HeaderLine(std::string_view name, std::string_view value) {
  return std::string(name) + ": " + std::string(value);
}

std::optional<std::string> ResponseHead::Header(std::string_view name) const {
  const auto it = headers.find(Lower(std::string(name)));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Expected<void> UnwantedReply::Add(std::string_view data) {
  body_.append(data.substr(0, kKeep - std::min(kKeep, body_.size())));
  if (body_.size() >= kKeep) return std::unexpected(*error());
  return {};
}

std::optional<Error> UnwantedReply::error() const {
  if (!active()) return std::nullopt;
  return protocol::StatusError(status_, body_);
}

Expected<std::unique_ptr<CurlSession>> CurlSession::Create(ClientOptions options) {
  if (!protocol::IsHttpUrl(options.server_url)) {
    return Fail(Errc::kInvalidArgument,
                "server url \"" + options.server_url + "\" is not an http or https url");
  }
  GlobalInit();
  std::string origin = OriginOf(options.server_url);
  if (origin.empty()) {
    return Fail(Errc::kInvalidArgument, "server url \"" + options.server_url + "\" is invalid");
  }
  CURL* handle = curl_easy_init();
  if (handle == nullptr) return Fail(Errc::kInternal, "curl_easy_init failed");
  return std::unique_ptr<CurlSession>(
      new CurlSession(std::move(options), handle, std::move(origin)));
}

CurlSession::CurlSession(ClientOptions options, void* handle, std::string server_origin)
    : options_(std::move(options)), handle_(handle), server_origin_(std::move(server_origin)) {}

CurlSession::~CurlSession() { curl_easy_cleanup(handle_); }

Expected<ResponseHead> CurlSession::Perform(const HttpRequest& request, ResponseSink& sink) {
  std::string url = request.url;
  for (int redirects = 0;; ++redirects) {
    std::string next;
    auto head = PerformHop(request, url, sink, &next);
    if (!head || next.empty()) return head;
    if (redirects == kMaxRedirects) {
      return Fail(Errc::kIo, "more than " + std::to_string(kMaxRedirects) + " redirects");
    }
    if (IsHttps(url) && !IsHttps(next)) {
      return Fail(Errc::kUnsupported, "refusing a redirect from https to " + next);
    }
    spdlog::debug("{} redirected ({}) to {}", url, head->status, next);
    url = std::move(next);
  }
}

Expected<ResponseHead> CurlSession::PerformHop(const HttpRequest& request, const std::string& url,
                                               ResponseSink& sink, std::string* redirect_to) {
  // Every hop starts from a reset handle (see the end): options are set afresh, while live
  // connections and caches stay.
  CURL* curl = handle_;
  HopState hop;
  hop.sink = &sink;
  hop.abort = request.abort;
  hop.post = request.post;
  char detail[CURL_ERROR_SIZE] = {};

  HeaderList headers(nullptr, curl_slist_free_all);
  if (request.api_headers) {
    Append(headers, HeaderLine(protocol::kApiContentTypeHeader, protocol::kApiContentType));
    Append(headers, HeaderLine("Content-Type", protocol::kJsonContentType));
  }
  for (const auto& line : request.headers) Append(headers, line);
  // The credentials are for the server only, never for a CDN a download is redirected to.
  const bool at_server = OriginOf(url) == server_origin_;
  if (at_server && options_.product_token) {
    Append(headers, HeaderLine(protocol::kProductTokenHeader, *options_.product_token));
  }
  if (at_server && options_.device_token) {
    Append(headers, HeaderLine(protocol::kDeviceTokenHeader, *options_.device_token));
  }
  Append(headers, "Expect:");  // no "100-continue" round trip before a POST body

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // followed by Perform, see above
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // proxy CONNECT replies
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (options_.ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file->c_str());
  if (at_server && options_.client_certificate && options_.client_key) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_certificate->c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key->c_str());
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_limit));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(options_.low_speed_time.count()));
  if (request.whole_request_timeout) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  }
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeaderLine);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hop);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBodyData);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &hop);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgressTick);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &hop);
  std::string range;
  if (request.range_start) {
    range = std::to_string(*request.range_start) + "-";
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  }
  if (request.post) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }

  const CURLcode code = curl_easy_perform(curl);
  std::string location;
  if (hop.redirect) {
    char* target = nullptr;
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &target);
    if (target != nullptr) location = target;
  }
  // The handle must keep no pointer into this frame (headers, range, error buffer, callbacks).
  curl_easy_reset(curl);

  if (hop.error) return std::unexpected(std::move(*hop.error));
  if (hop.past_deadline) return Fail(Errc::kTimeout, sink.deadline()->reckoning);
  if (hop.cancelled || code == CURLE_ABORTED_BY_CALLBACK) {
    return Fail(Errc::kCancelled, "aborted");
  }
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && hop.redirect_body_cut)) {
    return std::unexpected(TransportError(code, detail));
  }
  if (!hop.head_done) return Fail(Errc::kMalformed, "no response from the server");
  if (hop.redirect) {
    if (location.empty()) {
      return Fail(Errc::kMalformed,
                  "redirect (" + std::to_string(hop.head.status) + ") to an unusable location");
    }
    *redirect_to = std::move(location);
  }
  return std::move(hop.head);
}

}  // namespace uh::agent::detail
