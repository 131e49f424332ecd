#pragma once

// Who the device is, as its firmware says through executables in the metadata directory
// (firmware.metadata, /usr/share/updatehub):
//   product-uid          prints the product UID: 64 lowercase hex characters
//   version              prints the firmware version (not empty)
//   hardware             prints the hardware name (may be empty)
//   device-identity.d/   required, not empty: executables printing key=value lines
//   device-attributes.d/ optional: the same
//   key.pub              optional: the public key packages must be signed with
// The scripts of a .d directory run in name order (names starting with '.' are skipped);
// a key printed several times, by one script or several, gets all the values, sorted.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace uh::agent {

using MetadataValues = std::map<std::string, std::vector<std::string>>;

struct FirmwareMetadata {
  std::string product_uid;
  std::string version;
  std::string hardware;
  MetadataValues identity;
  MetadataValues attributes;
  std::optional<std::filesystem::path> public_key;  // key.pub when it exists

  // The device fields of a probe or report body: {"product-uid", "version", "hardware",
  // "device-identity", "device-attributes"}; a key with one value maps to a string, with
  // several to an array.
  [[nodiscard]] nlohmann::json ToProbeJson() const;
  // The "firmware" object of GET /info, upstream's snake_case fields (with "pub_key").
  [[nodiscard]] nlohmann::json ToInfoJson() const;

  bool operator==(const FirmwareMetadata&) const = default;
};

struct MetadataOptions {
  std::chrono::milliseconds timeout{10'000};  // per script
  std::size_t output_limit = 64 * 1024;       // per script, bytes
};

// Runs the scripts of `dir`. Errors name the script and, for bad output, the line:
// "device-identity.d/10-mac: line 2: 'garbage' is not key=value".
[[nodiscard]] Expected<FirmwareMetadata> LoadFirmwareMetadata(const std::filesystem::path& dir,
                                                              const MetadataOptions& options = {});

// Adds the key=value lines of `output` to `values` (sorting is left to the caller). Blank
// lines are skipped; keys and values are trimmed; a value may be empty, a key may not. Bytes
// that are not UTF-8 become U+FFFD, as they would in the JSON the values go to.
[[nodiscard]] Expected<void> ParseKeyValueLines(std::string_view output, MetadataValues& values);

// A metadata map as the protocol writes it: one value as a string, several as an array.
[[nodiscard]] nlohmann::json MetadataValuesToJson(const MetadataValues& values);

}  // namespace uh::agent
