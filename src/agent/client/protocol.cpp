#include "agent/client/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "core/hash.hpp"
#include "core/json.hpp"

namespace uh::agent::protocol {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char expected, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == expected;
         });
}

}  // namespace

bool IsHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWithNoCase(url, scheme)) return url.size() > scheme.size();
  }
  return false;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

Expected<std::string> ObjectPath(std::string_view product_uid, std::string_view package_uid,
                                 std::string_view sha256) {
  if (!IsLowerHexSha256(product_uid)) {
    return Fail(Errc::kInvalidArgument, "product uid is not 64 lowercase hex digits");
  }
  if (!IsLowerHexSha256(package_uid)) {
    return Fail(Errc::kInvalidArgument, "package uid is not 64 lowercase hex digits");
  }
  if (!IsLowerHexSha256(sha256)) {
    return Fail(Errc::kInvalidArgument, "object sha256 is not 64 lowercase hex digits");
  }
  return "/products/" + std::string(product_uid) + "/packages/" + std::string(package_uid) +
         "/objects/" + std::string(sha256);
}

Expected<std::string> ProbeBody(const nlohmann::json& device_fields) {
  if (!device_fields.is_object()) {
    return Fail(Errc::kInvalidArgument, "device fields must be a JSON object");
  }
  return DumpJson(device_fields);
}

Expected<std::string> ReportBody(const nlohmann::json& device_fields, const ReportRequest& report) {
  if (!device_fields.is_object()) {
    return Fail(Errc::kInvalidArgument, "device fields must be a JSON object");
  }
  // Field names as the upstream agent sends them (kebab-case, "status" for the state).
  nlohmann::json body = device_fields;
  body["status"] = report.status;
  body["package-uid"] = report.package_uid;
  if (report.previous_state) body["previous-state"] = *report.previous_state;
  if (report.error_message) body["error-message"] = *report.error_message;
  if (report.current_log) body["current-log"] = *report.current_log;
  return DumpJson(body);
}

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
      return Fail(Errc::kMalformed,
                  "invalid Add-Extra-Poll header \"" + Excerpt(*add_extra_poll, 40) + "\"");
    }
    return ExtraPoll{static_cast<std::int64_t>(*seconds)};
  }
  if (body.empty()) return Fail(Errc::kMalformed, "update offer without metadata");
  UpdateOffer offer{.metadata = std::move(body), .signature = std::nullopt};
  offer.package_uid = Sha256Hex(offer.metadata);
  if (uh_signature && !uh_signature->empty()) offer.signature = *uh_signature;
  return offer;
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

}  // namespace uh::agent::protocol
