// The agent's reading of an untrusted server reply: InterpretProbeReply (status, Add-Extra-Poll,
// UH-Signature, body) and the header values the downloads read (Content-Range, Content-Length).
// The input is a reply as the HTTP layer hands it over:
//
//   STATUS
//   Name: value          (any number of headers; names are matched in any case)
//
//   BODY
//
// 404 is no update; any status but 200 and 404 is an error; a 200 is a poll delay of at most a
// year when Add-Extra-Poll is there (a malformed one is kMalformed), else the body, unchanged, as
// the offer. Error messages quote the server, but never its control characters.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "fuzz_support.hpp"
#include "protocol/replies.hpp"

namespace {

namespace protocol = uh::protocol;

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, trimmed values
  std::string body;

  [[nodiscard]] std::optional<std::string> Header(const std::string& name) const {
    const auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<Reply> ParseReply(std::string_view text) {
  Reply reply;
  auto [status_line, rest] = uh::fuzz::SplitFirstLine(text);
  status_line = Trim(status_line);
  const auto [end, ec] =
      std::from_chars(status_line.data(), status_line.data() + status_line.size(), reply.status);
  if (ec != std::errc() || end != status_line.data() + status_line.size()) return std::nullopt;
  while (!rest.empty()) {
    const auto [line, after] = uh::fuzz::SplitFirstLine(rest);
    rest = after;
    const auto content = Trim(line);
    if (content.empty()) break;
    const auto colon = content.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(Trim(content.substr(0, colon)));
    std::ranges::transform(name, name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reply.headers[name] = std::string(Trim(content.substr(colon + 1)));
  }
  reply.body = std::string(rest);
  return reply;
}

bool AllDigits(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; });
}

void CheckDecimal(std::string_view text) {
  const auto value = protocol::ParseDecimal(text);
  const bool valid = !text.empty() && text.size() <= 19 && AllDigits(text);
  UH_FUZZ_CHECK(value.has_value() == valid, "ParseDecimal accepts other than 1 to 19 digits");
  if (!value) return;
  std::uint64_t expected = 0;
  for (const char c : text) expected = expected * 10 + static_cast<std::uint64_t>(c - '0');
  UH_FUZZ_CHECK(*value == expected, "ParseDecimal reads the wrong number");
}

void CheckContentRange(std::string_view text) {
  const auto range = protocol::ParseContentRange(text);
  if (!range) {
    UH_FUZZ_CHECK(range.error().code() == uh::Errc::kMalformed, "a bad range is not kMalformed");
    UH_FUZZ_CHECK(!uh::fuzz::HasControl(range.error().message()), "control characters quoted");
    return;
  }
  UH_FUZZ_CHECK(range->first <= range->last, "a range ends before it starts");
  UH_FUZZ_CHECK(!range->total || range->last < *range->total, "a range ends past the total");
  const std::string written = "bytes " + std::to_string(range->first) + "-" +
                              std::to_string(range->last) + "/" +
                              (range->total ? std::to_string(*range->total) : "*");
  const auto reread = protocol::ParseContentRange(written);
  UH_FUZZ_CHECK(reread && reread->first == range->first && reread->last == range->last &&
                    reread->total == range->total,
                "a range written back reads differently");
}

void CheckProbe(const Reply& reply) {
  const auto extra_poll = reply.Header("add-extra-poll");
  const auto signature = reply.Header("uh-signature");
  const auto result =
      protocol::InterpretProbeReply(reply.status, extra_poll, signature, reply.body);
  if (!result) {
    UH_FUZZ_CHECK(!uh::fuzz::HasControl(result.error().message()),
                  "a probe error quotes control characters");
    if (reply.status == 200) {
      UH_FUZZ_CHECK(result.error().code() == uh::Errc::kMalformed, "a bad 200 is not kMalformed");
    } else {
      UH_FUZZ_CHECK(reply.status != 404, "a 404 is an error");
      const auto code = result.error().code();
      UH_FUZZ_CHECK(code == uh::Errc::kIo || code == uh::Errc::kInvalidArgument,
                    "an unusable status is neither kIo nor (a 4xx) kInvalidArgument");
    }
    return;
  }
  if (std::holds_alternative<protocol::NoUpdate>(*result)) {
    UH_FUZZ_CHECK(reply.status == 404, "no update without a 404");
    return;
  }
  UH_FUZZ_CHECK(reply.status == 200, "an answer without a 200");
  if (const auto* poll = std::get_if<protocol::ExtraPoll>(&*result)) {
    UH_FUZZ_CHECK(extra_poll && AllDigits(*extra_poll), "a poll delay from a non-number");
    UH_FUZZ_CHECK(poll->seconds >= 0 && poll->seconds <= 366LL * 24 * 3600,
                  "a poll delay over a year, or negative");
    return;
  }
  const auto& offer = std::get<protocol::UpdateOffer>(*result);
  UH_FUZZ_CHECK(!extra_poll, "an offer despite Add-Extra-Poll");
  UH_FUZZ_CHECK(!offer.metadata.empty() && offer.metadata == reply.body,
                "the offer's metadata is not the body");
  UH_FUZZ_CHECK(offer.signature == (signature && !signature->empty() ? signature : std::nullopt),
                "the offer's signature is not the header");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto reply = ParseReply(text);
  if (!reply) return 0;
  CheckProbe(*reply);
  if (const auto range = reply->Header("content-range")) CheckContentRange(*range);
  if (const auto length = reply->Header("content-length")) CheckDecimal(*length);
  if (const auto poll = reply->Header("add-extra-poll")) CheckDecimal(*poll);
  (void)protocol::StatusError(reply->status, reply->body);
  return 0;
}
