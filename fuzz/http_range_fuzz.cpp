// The Range header of a download, through FileResponse: its parser (ParseRange) is private to
// src/server/http/file_response.cpp, so the target goes through the public function that uses
// it, on scratch files of several sizes (sparse, up to 8 GiB). The first byte picks the file's
// size (bits 0-2), HEAD instead of GET (bit 3), POST (bit 4: ranges do not apply), an If-Range
// header (bit 5) and no Range header at all (bit 6); the rest is the Range header's value.
// The answer is the one an independent reading of RFC 9110's single-range subset gives: 206
// with the range's bytes, within the file, and a Content-Range naming them; 416 with "bytes
// */SIZE"; or 200 with the whole file for anything else (multiple ranges, bad syntax,
// If-Range). Accept-Ranges is always sent.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_support.hpp"
#include "server/http/http.hpp"

namespace {

using uh::server::http::FileBody;
using uh::server::http::Request;
using uh::server::http::Response;

constexpr std::uint64_t kSizes[8] = {0, 1, 2, 10, 1000, 65536, 1ull << 32, 1ull << 33};

struct Files {
  uh::fuzz::ScratchDir dir;
  std::filesystem::path paths[8];
  Files() {
    for (int i = 0; i < 8; ++i) {
      paths[i] = dir.Write("file" + std::to_string(i), "");
      std::filesystem::resize_file(paths[i], kSizes[i]);
    }
  }
};

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::uint64_t> Digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

struct Answer {
  int status = 200;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// RFC 9110 section 14.1.2, one range only; anything else is ignored (the whole file).
Answer Reference(std::string_view header, std::uint64_t size) {
  header = Trim(header);
  if (header.size() < 6) return {};
  for (std::size_t i = 0; i < 6; ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != "bytes="[i]) return {};
  }
  const std::string_view spec = Trim(header.substr(6));
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return {};
  const auto first = spec.substr(0, dash);
  const auto last = spec.substr(dash + 1);
  if (first.empty()) {
    const auto suffix = Digits(last);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {416};
    return {206, *suffix >= size ? 0 : size - *suffix, size - 1};
  }
  const auto from = Digits(first);
  if (!from) return {};
  std::uint64_t to = UINT64_MAX;
  if (!last.empty()) {
    const auto parsed = Digits(last);
    if (!parsed || *parsed < *from) return {};
    to = *parsed;
  }
  if (*from >= size) return {416};
  return {206, *from, to < size - 1 ? to : size - 1};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Files files;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view range(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int index = flags & 7;
  const std::uint64_t file_size = kSizes[index];
  const auto& path = files.paths[index];

  Request request;
  request.method = (flags & 16) != 0  ? uh::server::http::Method::kPost
                   : (flags & 8) != 0 ? uh::server::http::Method::kHead
                                      : uh::server::http::Method::kGet;
  if ((flags & 64) == 0) request.headers["range"] = std::string(range);
  if ((flags & 32) != 0) request.headers["if-range"] = "\"v1\"";

  const Response response = uh::server::http::FileResponse(request, path);
  const bool applies = (flags & (16 | 32 | 64)) == 0;
  const Answer expected = applies ? Reference(range, file_size) : Answer{};

  UH_FUZZ_CHECK(response.status == expected.status, "another status than the reference's");
  UH_FUZZ_CHECK(response.FindHeader("Accept-Ranges") == "bytes", "no Accept-Ranges: bytes");
  const auto content_range = response.FindHeader("Content-Range");
  if (expected.status == 416) {
    UH_FUZZ_CHECK(content_range == "bytes */" + std::to_string(file_size),
                  "a 416 without bytes */SIZE");
    UH_FUZZ_CHECK(std::holds_alternative<std::string>(response.body), "a 416 sends the file");
    return 0;
  }
  const auto* body = std::get_if<FileBody>(&response.body);
  UH_FUZZ_CHECK(body != nullptr && body->path == path, "the file is not the body");
  UH_FUZZ_CHECK(body->offset <= file_size && body->length <= file_size - body->offset,
                "a body past the end of the file");
  UH_FUZZ_CHECK(response.FindHeader("Content-Type").has_value(), "no Content-Type");
  if (expected.status == 200) {
    UH_FUZZ_CHECK(body->offset == 0 && body->length == file_size, "a 200 that is not the file");
    UH_FUZZ_CHECK(!content_range, "a 200 with a Content-Range");
    return 0;
  }
  UH_FUZZ_CHECK(
      body->offset == expected.first && body->length == expected.last - expected.first + 1,
      "another range than the reference's");
  UH_FUZZ_CHECK(content_range == "bytes " + std::to_string(expected.first) + "-" +
                                     std::to_string(expected.last) + "/" +
                                     std::to_string(file_size),
                "a Content-Range that does not name the range sent");
  return 0;
}
