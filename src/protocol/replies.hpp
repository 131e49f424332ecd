#pragma once

// What the server's replies mean, decided from their status, headers and body: the answer to a
// probe, where an object reply's body belongs, and the error for a status nobody can use.
// Everything that comes from the server is untrusted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"

namespace uh::protocol {

// Probe answers.
struct NoUpdate {};
struct ExtraPoll {
  std::int64_t seconds = 0;  // probe again after this long
};
struct UpdateOffer {
  std::string metadata{};                  // the exact bytes: hashed and signed as they are
  std::optional<std::string> signature{};  // base64, from `UH-Signature`; absent when unsigned
  std::string package_uid{};               // sha256 of `metadata`, hex: the package's id
};
using ProbeResult = std::variant<NoUpdate, ExtraPoll, UpdateOffer>;

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

}  // namespace uh::protocol
