#pragma once

// The agent's side of the UpdateHub protocol (docs/protocol.md, section 1): probe for an update,
// download its objects (resuming an interrupted download at exactly the bytes already on disk),
// report progress, and fetch a whole package by URL. `Client` is the interface the daemon uses;
// MakeClient builds the libcurl implementation.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "core/error.hpp"
#include "protocol/bodies.hpp"
#include "protocol/replies.hpp"

namespace uh::agent {

// "updatehub/<version of this agent> Linux" (user_agent.cpp: linked without libcurl).
[[nodiscard]] std::string DefaultUserAgent();

struct ClientOptions {
  // Base URL of the server, http or https, e.g. "https://api.updatehub.io".
  std::string server_url{};
  // Trusted CA certificates (PEM) used instead of the system store.
  std::optional<std::filesystem::path> ca_file{};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // A transfer slower than `low_speed_limit` bytes/s for `low_speed_time` fails with kTimeout.
  std::uint32_t low_speed_limit = 1;
  std::chrono::seconds low_speed_time{60};
  // Whole-request limit for probe and report (downloads have DownloadTimeLimit instead).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(120)};
  // A download must be over within download_time_allowance + (bytes still to fetch) /
  // download_min_rate, or it is cut with kTimeout (and resumed by a later attempt): a server
  // trickling an object at a few bytes a second never satisfies the low-speed limit, yet would
  // hold the agent for ever. The defaults suit slow cellular fleets: 8 KiB/s (64 kbit/s) is
  // what a weak 2G EDGE link still sustains, so only a stuck or hostile server is that slow
  // over a whole object; the 5 minutes cover connecting and TLS on a poor link and the stalls
  // of a cell handover. Being cut costs little, as the next attempt resumes where this one
  // stopped. A rate of 0 means no deadline.
  std::uint32_t download_min_rate = 8 * 1024;  // bytes per second
  std::chrono::milliseconds download_time_allowance{std::chrono::minutes(5)};
  std::string user_agent = DefaultUserAgent();
  // Sent as `UH-Product-Token`, only to the origin of `server_url` (never to a redirect target
  // elsewhere, such as a CDN).
  std::optional<std::string> product_token{};
  // The device's own secret (64 lowercase hex), sent as `UH-Device-Token`, only to the origin
  // of `server_url` as product_token.
  std::optional<std::string> device_token{};
  // A client certificate and its key (PEM, both or neither) presented for mutual TLS, only to
  // the origin of `server_url`.
  std::optional<std::filesystem::path> client_certificate{};
  std::optional<std::filesystem::path> client_key{};
  // Largest metadata a probe accepts.
  std::size_t max_metadata_bytes = 1024 * 1024;

  bool operator==(const ClientOptions&) const = default;
};

// How long a download of `bytes` (still to fetch) may take; none when download_min_rate is 0.
[[nodiscard]] std::optional<std::chrono::milliseconds> DownloadTimeLimit(
    const ClientOptions& options, std::uint64_t bytes);

// Probe answers and reports are the protocol's (protocol/replies.hpp, protocol/bodies.hpp).
using protocol::ExtraPoll;
using protocol::NoUpdate;
using protocol::ProbeResult;
using protocol::ReportRequest;
using protocol::UpdateOffer;

struct ObjectDownload {
  std::string product_uid{};  // 64 lowercase hex
  std::string package_uid{};  // 64 lowercase hex
  std::string sha256{};       // 64 lowercase hex: the object's id and expected hash
  std::uint64_t size = 0;
  std::filesystem::path dest{};  // its directory must exist

  // When set, `dest` is an existing file or device (a slot's partition) that receives the object
  // at byte `offset`, without being created or truncated. How many bytes are durably there is
  // recorded in `progress_file` (synced after the data, every checkpoint and at the end), which is
  // what a resume trusts, since the target's size says nothing; the bytes it covers are hashed
  // again from the target before the download goes on.
  struct Stream {
    std::uint64_t offset = 0;
    std::filesystem::path progress_file{};
    // Data synced and progress recorded every this many bytes: what a power cut may cost.
    std::uint64_t checkpoint_bytes = 32ULL << 20;
  };
  std::optional<Stream> stream{};

  // When set (never with `stream`), every byte of the object also goes into this existing file
  // or device (a slot's partition) at byte `offset` as it arrives, and what a resume keeps in
  // `dest` is written there again first: a call that succeeds leaves the whole object there,
  // synced, under the hash it was checked against. `dest` is then not synced at the end; it
  // stays for a resume of a cut transfer and is hashed before any later use.
  struct Copy {
    std::filesystem::path path{};
    std::uint64_t offset = 0;
  };
  std::optional<Copy> copy{};
};

struct DownloadControl {
  // When it becomes true (from any thread) the download stops with kCancelled.
  const std::atomic<bool>* abort = nullptr;
  // Called on the downloading thread with the bytes on disk so far and the total (0 when
  // unknown).
  std::function<void(std::uint64_t done, std::uint64_t total)> progress{};
};

// One client is used by one thread at a time; only DownloadControl::abort may be touched from
// another thread during a call.
class Client {
 public:
  virtual ~Client() = default;

  // POST /upgrades with the device fields (product-uid, version, hardware, device-identity,
  // device-attributes) and `Api-Retries: retries`. Any answer other than 404, 200 with
  // Add-Extra-Poll, or 200 with metadata is an error.
  [[nodiscard]] virtual Expected<ProbeResult> Probe(const nlohmann::json& device_fields,
                                                    int retries) = 0;

  // GET /products/{product}/packages/{package}/objects/{sha256} into `dest`, resuming after the
  // bytes already there. On success `dest` holds exactly `size` bytes hashing to `sha256`.
  // Errors: kNoSpace (checked before transferring), kIntegrity (hash or size mismatch; `dest`
  // is removed), kCancelled and kTimeout and transport errors (`dest` keeps what arrived, so
  // the next call resumes).
  [[nodiscard]] virtual Expected<void> DownloadObject(const ObjectDownload& download,
                                                      const DownloadControl& control) = 0;

  // GET the object from its first byte and hand its bytes, in order, to `consume` (a pipe to an
  // installer), with DownloadObject's size and hash checks: success means `consume` was given
  // exactly the object. `download.dest` and `download.stream` are not used. A transfer cut off
  // by the network is resumed within the call (Range from the bytes already handed over) up to
  // kStreamResumes times; nothing outlives the call, so the next call starts from byte 0. An
  // error from `consume` stops the transfer and is returned as it is.
  using ObjectConsumer = std::function<Expected<void>(std::span<const std::byte>)>;
  static constexpr int kStreamResumes = 3;
  [[nodiscard]] virtual Expected<void> StreamObject(const ObjectDownload& download,
                                                    const ObjectConsumer& consume,
                                                    const DownloadControl& control) = 0;

  // GET `url` (http or https) into `dest` from the start, at most `max_size` bytes (kTooLarge).
  // Nothing is resumed: on any failure `dest` is removed.
  [[nodiscard]] virtual Expected<void> DownloadUrl(const std::string& url,
                                                   const std::filesystem::path& dest,
                                                   const DownloadControl& control,
                                                   std::uint64_t max_size) = 0;

  // POST /report with the device fields and the report's fields. The server's answer is
  // ignored; only a failed transfer is an error.
  [[nodiscard]] virtual Expected<void> Report(const nlohmann::json& device_fields,
                                              const ReportRequest& report) = 0;
};

// The libcurl client. Fails with kInvalidArgument when `server_url` is not http(s).
[[nodiscard]] Expected<std::unique_ptr<Client>> MakeClient(ClientOptions options);

}  // namespace uh::agent
