#include "server/http/wire.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <utility>

#include "core/fs.hpp"
#include "server/http/file_range_body.hpp"
#include "server/http/text.hpp"

namespace uh::server::http {
namespace bhttp = boost::beast::http;
namespace {

Method ToMethod(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

// Decodes segment by segment, so that an encoded '/' cannot create a segment boundary.
Expected<std::string> DecodePath(std::string_view raw) {
  if (!raw.starts_with('/')) return Fail(Errc::kMalformed, "request target is not a path");
  std::string path;
  raw.remove_prefix(1);
  for (;;) {
    const auto slash = raw.find('/');
    auto segment = PercentDecode(raw.substr(0, slash));
    if (!segment) return std::unexpected(segment.error());
    if (segment->find('/') != std::string::npos) {
      return Fail(Errc::kMalformed, "encoded '/' in path");
    }
    if (*segment == "." || *segment == "..") return Fail(Errc::kMalformed, "dot segment in path");
    path.push_back('/');
    path += *segment;
    if (slash == std::string_view::npos) return path;
    raw.remove_prefix(slash + 1);
  }
}

// application/x-www-form-urlencoded: '+' is a space; the first of repeated keys wins.
Expected<std::map<std::string, std::string>> DecodeQuery(std::string_view raw) {
  std::map<std::string, std::string> query;
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    std::string pair(raw.substr(0, amp));
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (pair.empty()) continue;
    std::ranges::replace(pair, '+', ' ');
    const auto eq = pair.find('=');
    auto key = PercentDecode(std::string_view(pair).substr(0, eq));
    auto value = PercentDecode(eq == std::string::npos ? std::string_view()
                                                       : std::string_view(pair).substr(eq + 1));
    if (!key || !value) return Fail(Errc::kMalformed, "malformed query string");
    query.emplace(std::move(*key), std::move(*value));
  }
  return query;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool IsFieldValue(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

template <class Body>
bhttp::response<Body> Head(const Response& response, unsigned version, bool keep_alive) {
  bhttp::response<Body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : response.headers) {
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "connection") ||
        EqualsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    if (!IsToken(name) || !IsFieldValue(value)) {
      spdlog::warn("dropping invalid response header '{}'", name);
      continue;
    }
    message.insert(name, value);
  }
  message.keep_alive(keep_alive);
  return message;
}

std::uint64_t BodySize(const Response& response) {
  if (const auto* text = std::get_if<std::string>(&response.body)) return text->size();
  return std::get<FileBody>(response.body).length;
}

}  // namespace

Expected<Request> ToRequest(const RequestHead& head, std::string remote_address) {
  Request request;
  request.method = ToMethod(head.method());
  request.target = std::string(head.target());
  const std::string_view target = request.target;
  const auto question = target.find('?');
  auto path = DecodePath(target.substr(0, question));
  if (!path) return std::unexpected(path.error());
  request.path = std::move(*path);
  if (question != std::string_view::npos) {
    auto query = DecodeQuery(target.substr(question + 1));
    if (!query) return std::unexpected(query.error());
    request.query = std::move(*query);
  }
  for (const auto& field : head) {
    auto [it, inserted] =
        request.headers.try_emplace(ToLower(field.name_string()), std::string(field.value()));
    if (!inserted) {  // repeated fields combine into a list (RFC 9110 section 5.3)
      it->second += ", ";
      it->second += field.value();
    }
  }
  request.remote_address = std::move(remote_address);
  request.received = std::chrono::steady_clock::now();
  return request;
}

WireResponse ToWire(Response response, bool head, unsigned version, bool keep_alive) {
  if (response.status < 200 || response.status > 999) {
    spdlog::error("handler answered with invalid status {}", response.status);
    response = Response::Error(500, "internal error");
  }
  const bool bodiless_status = response.status == 204 || response.status == 304;
  std::filesystem::path temporary;  // removed below, whether it is sent or not
  if (const auto* file_body = std::get_if<FileBody>(&response.body);
      file_body != nullptr && file_body->remove_when_open) {
    temporary = file_body->path;
  }
  std::optional<File> file;
  if (const auto* file_body = std::get_if<FileBody>(&response.body);
      file_body != nullptr && !head && !bodiless_status) {
    auto opened = File::OpenRead(file_body->path);
    struct stat st {};
    if (opened && (::fstat(opened->fd(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) <
                                                          file_body->offset + file_body->length)) {
      opened = Fail(Errc::kIo, "shorter than the range to send");
    }
    if (opened) {
      file = std::move(*opened);
    } else {
      spdlog::warn("cannot send {}: {}", file_body->path.string(), opened.error().message());
      response = opened.error().code() == Errc::kNotFound
                     ? Response::Error(404, "not found")
                     : Response::Error(500, "cannot read file");
    }
  }
  if (!temporary.empty()) {
    std::error_code ignored;  // once open, the file stays readable until it is closed
    std::filesystem::remove(temporary, ignored);
  }
  const int status = response.status;
  if (head || bodiless_status) {
    auto message = Head<bhttp::empty_body>(response, version, keep_alive);
    if (!bodiless_status) message.content_length(BodySize(response));
    return {bhttp::message_generator(std::move(message)), status};
  }
  if (auto* text = std::get_if<std::string>(&response.body)) {
    auto message = Head<bhttp::string_body>(response, version, keep_alive);
    message.body() = std::move(*text);
    message.content_length(message.body().size());
    return {bhttp::message_generator(std::move(message)), status};
  }
  const auto& range = std::get<FileBody>(response.body);
  auto message = Head<FileRangeBody>(response, version, keep_alive);
  message.body() = {std::move(*file), range.offset, range.length};
  message.content_length(range.length);
  return {bhttp::message_generator(std::move(message)), status};
}

std::string AllowedMethods(const Router& router, std::string_view path) {
  std::string allowed;
  for (const Method method : {Method::kGet, Method::kHead, Method::kPost, Method::kPut,
                              Method::kPatch, Method::kDelete, Method::kOptions}) {
    if (router.Find(method, path).route == nullptr) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += MethodName(method);
  }
  return allowed;
}

}  // namespace uh::server::http
