#pragma once

// The UpdateHub wire format as plain functions, independent of the HTTP library: URLs, request
// bodies and the meaning of replies. Everything that comes from the server is untrusted.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/client/client.hpp"
#include "core/error.hpp"

namespace uh::agent::protocol {

inline constexpr std::string_view kApiContentType = "application/vnd.updatehub-v1+json";

// True for "http://..." and "https://..." (scheme in any case) with something after "//".
[[nodiscard]] bool IsHttpUrl(std::string_view url);

// `base` (with or without a trailing slash) followed by `path` ("/upgrades").
[[nodiscard]] std::string JoinUrl(std::string_view base, std::string_view path);

// "/products/{product}/packages/{package}/objects/{sha256}"; every id must be 64 lowercase hex
// digits, so nothing in them can change the meaning of the URL (kInvalidArgument otherwise).
[[nodiscard]] Expected<std::string> ObjectPath(std::string_view product_uid,
                                               std::string_view package_uid,
                                               std::string_view sha256);

// JSON text of a request body. Invalid UTF-8 in the device's fields (which come from firmware
// scripts) is replaced rather than thrown on.
[[nodiscard]] Expected<std::string> ProbeBody(const nlohmann::json& device_fields);
[[nodiscard]] Expected<std::string> ReportBody(const nlohmann::json& device_fields,
                                               const ReportRequest& report);

// The meaning of a probe reply: 404 no update; 200 with Add-Extra-Poll a later probe; 200
// otherwise the metadata bytes (non-empty) and the optional signature; anything else an error.
[[nodiscard]] Expected<ProbeResult> InterpretProbeReply(
    long status, const std::optional<std::string>& add_extra_poll,
    const std::optional<std::string>& uh_signature, std::string body);

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;              // inclusive
  std::optional<std::uint64_t> total;  // absent for "*"
};
// Parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"); kMalformed otherwise.
[[nodiscard]] Expected<ContentRange> ParseContentRange(std::string_view value);

// Where the body of a 200 or 206 reply to the GET of an object of `size` bytes from byte `start`
// ("Range: bytes=START-" when start > 0) belongs in the object, decided from the head alone,
// before any byte of it is written: `start` (the body is the rest) or 0 (the whole object again).
//   206 whose Content-Range starts at `start` and lies within the object: `start`;
//   200 with Content-Length `size`, or without Content-Length (chunked): 0;
//   200 with Content-Length `size - start`, start > 0, no Content-Range: `start` (updatehub-ce);
//   anything else: kMalformed or kIntegrity. The object's hash has the last word in every case.
[[nodiscard]] Expected<std::uint64_t> ObjectBodyOffset(
    long status, std::uint64_t size, std::uint64_t start,
    const std::optional<std::string>& content_range,
    const std::optional<std::string>& content_length);

// Parses a non-negative decimal number without sign or spaces (Content-Length and the like).
[[nodiscard]] std::optional<std::uint64_t> ParseDecimal(std::string_view text);

// The error for an HTTP status the caller cannot use: "server answered 500: <body excerpt>".
// 404 is kNotFound; what may pass if tried again (5xx, 408 and 429, and statuses no server
// should send) kIo; the server's refusals (other 4xx) kInvalidArgument.
[[nodiscard]] Error StatusError(long status, std::string_view body);

// The first bytes of `body` for an error message, control characters replaced.
[[nodiscard]] std::string Excerpt(std::string_view body, std::size_t max = 200);

}  // namespace uh::agent::protocol
