#include "tools/admin/api_client.hpp"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

#include "core/json.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {
namespace {

using nlohmann::json;

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// What the callbacks of one transfer share.
struct Transfer {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
  const std::atomic<bool>* cancel = nullptr;
  const UploadProgress* progress = nullptr;
};

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer.body.size() + bytes > transfer.max_bytes) {
    transfer.too_large = true;
    return 0;  // libcurl stops the transfer with CURLE_WRITE_ERROR
  }
  transfer.body.append(data, bytes);
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t sent) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (transfer.cancel != nullptr && transfer.cancel->load()) return 1;
  if (transfer.progress != nullptr && *transfer.progress) {
    (*transfer.progress)(static_cast<std::uint64_t>(sent));
  }
  return 0;
}

void InitialiseCurlOnce() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

// A failed transfer as an Error of the kind the command line reports (api_client.hpp).
Error TransferError(CURLcode code, const char* detail, const Transfer& transfer,
                    const std::string& server) {
  std::string message = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return Error(Errc::kTooLarge, "the server's reply is larger than " +
                                          std::to_string(transfer.max_bytes >> 20) +
                                          " MiB: refused");
      }
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      return Error(Errc::kCancelled, "interrupted");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return Error(Errc::kMalformed, server + " did not answer in HTTP: " + message);
    case CURLE_OPERATION_TIMEDOUT:
      return Error(Errc::kTimeout, "no answer from " + server + ": " + message);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return Error(Errc::kIo, "TLS with " + server + " failed: " + message +
                                  " (the server's CA certificate: --cacert FILE)");
    case CURLE_READ_ERROR:
      return Error(Errc::kInternal, "reading the file to upload: " + message);
    default:
      break;
  }
  return Error(Errc::kIo, "cannot reach " + server + ": " + message);
}

Expected<Reply> Perform(const ClientOptions& options, std::string_view method,
                        const std::string& path, const std::optional<json>& body,
                        const std::filesystem::path* file, const UploadProgress* progress) {
  InitialiseCurlOnce();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Fail(Errc::kInternal, "libcurl could not start a transfer");
  CURL* handle = curl.get();
  Transfer transfer{.body = {},
                    .max_bytes = options.max_reply_bytes,
                    .too_large = false,
                    .cancel = options.cancel,
                    .progress = progress};
  char detail[CURL_ERROR_SIZE] = {};
  const std::string url = options.server + path;

  std::unique_ptr<curl_slist, HeaderListDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  if (!options.token.empty()) add_header("Authorization: Bearer " + options.token);
  add_header("Accept: application/json");

  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must not carry the token
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "updatehub-admin/" UH_VERSION);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options.max_reply_bytes));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
  if (!options.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
  if (options.insecure) {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  std::string payload;
  std::unique_ptr<std::FILE, FileCloser> upload;
  if (file != nullptr) {
    upload.reset(std::fopen(file->c_str(), "rb"));
    std::error_code error;
    const auto size = std::filesystem::file_size(*file, error);
    if (!upload || error) {
      return Fail(Errc::kInvalidArgument, "cannot read " + file->string());
    }
    add_header("Content-Type: application/octet-stream");
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_READDATA, upload.get());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    // A large package takes as long as it takes, as long as it moves.
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
  } else {
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, options.timeout_seconds);
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    if (body) {
      payload = DumpJson(*body);
      add_header("Content-Type: application/json");
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, payload.c_str());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(payload.size()));
    } else if (method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
    }
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK)
    return std::unexpected(TransferError(code, detail, transfer, options.server));
  Reply reply;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
  const char* type = nullptr;
  curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) reply.content_type = type;
  reply.body = std::move(transfer.body);
  return reply;
}

}  // namespace

Expected<Reply> ApiClient::Send(std::string_view method, const std::string& path,
                                const std::optional<json>& body) {
  return Perform(options_, method, path, body, nullptr, nullptr);
}

Expected<Reply> ApiClient::SendFile(const std::string& path, const std::filesystem::path& file,
                                    const UploadProgress& progress) {
  return Perform(options_, "POST", path, std::nullopt, &file, &progress);
}

Expected<json> ApiClient::Call(std::string_view method, const std::string& path,
                               const std::optional<json>& body) {
  auto reply = Send(method, path, body);
  if (!reply) return std::unexpected(reply.error());
  return ReplyJson(*reply);
}

std::string RefusalMessage(const Reply& reply) {
  std::string message = "HTTP " + std::to_string(reply.status);
  const auto parsed = ParseJson(reply.body, {.max_depth = 16, .max_bytes = 1024 * 1024});
  if (parsed && parsed->is_object() && parsed->contains("error") &&
      (*parsed)["error"].is_string()) {
    message += ": " + Printable((*parsed)["error"].get<std::string>());
  }
  return message;
}

Expected<json> ReplyJson(const Reply& reply) {
  const bool ok = reply.status >= 200 && reply.status < 300;
  auto parsed = reply.body.empty()
                    ? Expected<json>(json::object())
                    : ParseJson(reply.body, {.max_depth = 64, .max_bytes = reply.body.size()});
  if (ok) {
    if (!parsed) {
      return Fail(Errc::kMalformed, "the server's reply is not JSON (" + parsed.error().message() +
                                        "): \"" + Printable(reply.body.substr(0, 60)) + "\"");
    }
    return parsed;
  }
  const std::string message = RefusalMessage(reply);
  switch (reply.status) {
    case 401:
      return Fail(Errc::kForbidden, message + " (log in again: updatehub-admin login)");
    case 403:
      return Fail(Errc::kForbidden, message);
    case 404:
      return Fail(Errc::kNotFound, message);
    case 409:
      return Fail(Errc::kAlreadyExists, message);
    case 413:
      return Fail(Errc::kTooLarge, message);
    case 507:
      return Fail(Errc::kNoSpace, message);
    default:
      return Fail(reply.status >= 400 && reply.status < 500 ? Errc::kMalformed : Errc::kInternal,
                  message);
  }
}

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
        (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' || byte == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

Expected<std::string> NormaliseServerUrl(std::string_view url) {
  std::string out(url);
  while (out.ends_with('/')) out.pop_back();
  const bool http = out.starts_with("http://");
  const bool https = out.starts_with("https://");
  const std::size_t host = http ? 7 : 8;
  if ((!http && !https) || out.size() <= host ||
      out.find_first_of(" \t\r\n?#") != std::string::npos) {
    return Fail(Errc::kInvalidArgument,
                "the server must be an http:// or https:// URL, e.g. https://updates.example.com "
                "(got \"" +
                    Printable(url) + "\")");
  }
  return out;
}

}  // namespace uh::admin
