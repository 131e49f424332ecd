#include "protocol/replies.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "core/hash.hpp"
#include "protocol/names.hpp"

namespace uh::protocol {

Expected<ProbeResult> InterpretProbeReply(long status,
                                          const std::optional<std::string>& add_extra_poll,
                                          const std::optional<std::string>& uh_signature,
                                          std::string body) {
  if (status == 404) return NoUpdate{};
  if (status != 200) return std::unexpected(StatusError(status, body));
  if (add_extra_poll) {
    const auto seconds = ParseDecimal(*add_extra_poll);
    // More than a year is not a poll delay but a broken server.
    constexpr std::uint64_t kMaxSeconds = 366ULL * 24 * 3600;
    if (!seconds || *seconds > kMaxSeconds) {
      return Fail(Errc::kMalformed, "invalid " + std::string(kExtraPollHeader) + " header \"" +
                                        Excerpt(*add_extra_poll, 40) + "\"");
    }
    return ExtraPoll{static_cast<std::int64_t>(*seconds)};
  }
  if (body.empty()) return Fail(Errc::kMalformed, "update offer without metadata");
  UpdateOffer offer{.metadata = std::move(body), .signature = std::nullopt};
  offer.package_uid = Sha256Hex(offer.metadata);
  if (uh_signature && !uh_signature->empty()) offer.signature = *uh_signature;
  return offer;
}

Expected<std::uint64_t> ObjectBodyOffset(long status, std::uint64_t size, std::uint64_t start,
                                         const std::optional<std::string>& content_range,
                                         const std::optional<std::string>& content_length) {
  std::optional<std::uint64_t> length;
  if (content_length) {
    length = ParseDecimal(*content_length);
    if (!length) return Fail(Errc::kMalformed, "invalid Content-Length");
  }
  const auto announced = [&](const std::string& expected) {
    return Fail(Errc::kIntegrity,
                "the server announces " + *content_length + " bytes instead of " + expected);
  };
  if (status == 206) {
    if (!content_range) return Fail(Errc::kMalformed, "206 reply without Content-Range");
    auto range = ParseContentRange(*content_range);
    if (!range) return std::unexpected(std::move(range).error());
    if (range->first != start) {
      return Fail(Errc::kMalformed, "asked for bytes from " + std::to_string(start) +
                                        " but the server sent from " +
                                        std::to_string(range->first));
    }
    if ((range->total && *range->total != size) || range->last >= size) {
      return Fail(Errc::kIntegrity, "the server's object is not " + std::to_string(size) +
                                        " bytes long (Content-Range " + *content_range + ")");
    }
    const std::uint64_t expected = range->last - range->first + 1;
    if (length && *length != expected) return announced(std::to_string(expected));
    return start;
  }
  if (status != 200) {
    return Fail(Errc::kMalformed, "not an object reply: " + std::to_string(status));
  }

  // A 200 ignores the range or answers it in its own way, and only its length tells which.
  // The whole object and the rest can only have the same length when start == 0, where both are
  // the whole object; when start == size the rest is empty (and complete objects are not asked
  // for). A body that is neither is refused before a byte of it is written.
  if (!length) {
    // Chunked: the head cannot tell. Taken as the whole object, the safe reading: the size check
    // stops a body longer than the object as it arrives, a shorter one ends as an incomplete
    // transfer, and the hash decides. Taken as the rest, a whole object would be written after
    // what is there, and found out only `size - start` bytes later.
    return 0;
  }
  if (*length == size) return 0;
  // updatehub-ce: 200, no Content-Range, only the bytes from `start` on. Upstream's agent appends
  // any 2xx body; here only a body of exactly the missing length is appended.
  if (start > 0 && !content_range && *length == size - start) return start;
  std::string expected = std::to_string(size);
  if (start > 0) expected += " or the " + std::to_string(size - start) + " missing";
  return announced(expected);
}

std::optional<std::uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Expected<ContentRange> ParseContentRange(std::string_view value) {
  const auto malformed = [&] {
    return Fail(Errc::kMalformed, "invalid Content-Range \"" + Excerpt(value, 80) + "\"");
  };
  constexpr std::string_view kUnit = "bytes ";
  if (!value.starts_with(kUnit)) return malformed();
  value.remove_prefix(kUnit.size());
  const auto dash = value.find('-');
  const auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return malformed();
  }
  const auto first = ParseDecimal(value.substr(0, dash));
  const auto last = ParseDecimal(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return malformed();
  ContentRange range{.first = *first, .last = *last, .total = std::nullopt};
  const std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    range.total = ParseDecimal(total);
    if (!range.total || range.last >= *range.total) return malformed();
  }
  return range;
}

Error StatusError(long status, std::string_view body) {
  std::string message = "server answered " + std::to_string(status);
  if (!body.empty()) message += ": " + Excerpt(body);
  Errc code = Errc::kIo;
  if (status == 404) {
    code = Errc::kNotFound;
  } else if (status >= 400 && status < 500 && status != 408 && status != 429) {
    code = Errc::kInvalidArgument;
  }
  return Error(code, std::move(message));
}

std::string Excerpt(std::string_view body, std::size_t max) {
  std::string out(body.substr(0, max));
  std::ranges::replace_if(
      out, [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; }, ' ');
  if (body.size() > max) out += "...";
  return out;
}

}  // namespace uh::protocol
