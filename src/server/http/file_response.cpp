// Files as responses, with the single-range subset of RFC 9110 section 14 that downloads and
// resumes need. The body is a FileBody: the server streams it and, for HEAD, sends only its
// Content-Length.

#include <charconv>
#include <optional>
#include <system_error>

#include "server/http/http.hpp"
#include "server/http/text.hpp"

namespace uh::server::http {
namespace {

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// What a Range header asks of a file of `size` bytes.
struct RangeRequest {
  enum Kind { kWhole, kPartial, kUnsatisfiable } kind = kWhole;
  ByteRange range;
};

std::optional<std::uint64_t> ParseNumber(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Syntactically invalid and multi-range headers are ignored (the whole file is sent), as RFC
// 9110 allows; only a valid single range can be partial or unsatisfiable.
RangeRequest ParseRange(std::string_view header, std::uint64_t size) {
  header = TrimSpaces(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size() || !EqualsIgnoreCase(header.substr(0, kUnit.size()), kUnit)) {
    return {};
  }
  const std::string_view spec = TrimSpaces(header.substr(kUnit.size()));
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return {};
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);
  RangeRequest result{RangeRequest::kPartial, {}};
  if (first_text.empty()) {  // "-N": the last N bytes
    const auto suffix = ParseNumber(last_text);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {RangeRequest::kUnsatisfiable, {}};
    result.range = {size - std::min(*suffix, size), size - 1};
    return result;
  }
  const auto first = ParseNumber(first_text);
  if (!first) return {};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto parsed_last = ParseNumber(last_text);
    if (!parsed_last || *parsed_last < *first) return {};
    last = std::min(last, *parsed_last);
  }
  if (*first >= size) return {RangeRequest::kUnsatisfiable, {}};
  result.range = {*first, last};
  return result;
}

}  // namespace

Response FileResponse(const Request& request, const std::filesystem::path& path,
                      std::string content_type) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::is_regular_file(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Response::Error(500, "cannot read " + path.filename().string());
    }
    return Response::Error(404, "not found");
  }
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Response::Error(500, "cannot read " + path.filename().string());

  RangeRequest range;
  const bool ranges_apply = request.method == Method::kGet || request.method == Method::kHead;
  // We send no validators, so an If-Range can never match: the whole file it is.
  if (ranges_apply && request.headers.contains("range") && !request.headers.contains("if-range")) {
    range = ParseRange(request.Header("range"), size);
  }

  Response response;
  switch (range.kind) {
    case RangeRequest::kUnsatisfiable:
      response = Response::Error(416, "range not satisfiable");
      response.SetHeader("Content-Range", "bytes */" + std::to_string(size));
      break;
    case RangeRequest::kPartial: {
      const auto [first, last] = range.range;
      response.status = 206;
      response.body = FileBody{path, first, last - first + 1};
      response.SetHeader("Content-Range", "bytes " + std::to_string(first) + "-" +
                                              std::to_string(last) + "/" + std::to_string(size));
      response.SetHeader("Content-Type", std::move(content_type));
      break;
    }
    case RangeRequest::kWhole:
      response.body = FileBody{path, 0, size};
      response.SetHeader("Content-Type", std::move(content_type));
      break;
  }
  response.SetHeader("Accept-Ranges", "bytes");
  return response;
}

}  // namespace uh::server::http
