#pragma once

// The package metadata model: every field and install mode of UpdateHub's package schema, with
// validation as strict as upstream's JSON schema (unknown fields and modes are errors that name
// the object and the field). Optional fields stay optional in the model so that metadata is
// written back exactly as it was read; the accessors apply the schema's defaults.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace uh::package {

enum class Mode {
  kCopy,
  kFlash,
  kImxkobs,
  kMender,
  kRaw,
  kRawDelta,
  kTarball,
  kTest,
  kUbifs,
  kUbootEnv,
  kZephyr,
};
[[nodiscard]] std::string_view ModeName(Mode mode);
[[nodiscard]] std::optional<Mode> ParseMode(std::string_view name);

enum class TargetType { kDevice, kUbiVolume, kMtdName };
[[nodiscard]] std::string_view TargetTypeName(TargetType type);

inline constexpr std::uint64_t kDefaultChunkSize = 131072;

// `install-if-different`: skip the object when the target already holds it.
struct InstallIfDifferent {
  enum class Kind { kSha256sum, kLinuxKernel, kUBoot, kCustomPattern };
  Kind kind = Kind::kSha256sum;
  std::string version;  // all but kSha256sum
  // kCustomPattern only:
  std::string regexp;
  std::optional<std::int64_t> seek;         // default 0
  std::optional<std::int64_t> buffer_size;  // default -1: to the end
};

// A user or group: a name or a numeric id.
using Owner = std::variant<std::string, std::int64_t>;

struct Object {
  Mode mode = Mode::kTest;
  std::string filename;
  std::uint64_t size = 0;
  std::string sha256sum;

  std::optional<bool> compressed;
  std::optional<std::uint64_t> required_uncompressed_size;
  std::optional<TargetType> target_type;
  std::optional<std::string> target;
  std::optional<std::string> target_path;
  std::optional<std::string> filesystem;
  std::optional<bool> format;  // "format?"
  std::optional<std::string> format_options;
  std::optional<std::string> mount_options;
  std::optional<std::string> target_mode;  // 4 octal digits
  std::optional<Owner> target_uid;
  std::optional<Owner> target_gid;
  std::optional<std::uint64_t> chunk_size;
  std::optional<std::uint64_t> skip;
  std::optional<std::uint64_t> seek;
  std::optional<std::int64_t> count;  // -1: all
  std::optional<bool> truncate;
  std::optional<InstallIfDifferent> install_if_different;
  // imxkobs
  std::optional<bool> padding_1k;  // "1k_padding"
  std::optional<std::int64_t> search_exponent;
  std::optional<std::string> chip_0_device_path;
  std::optional<std::string> chip_1_device_path;
  // test
  std::optional<bool> force_check_requirements_fail;

  [[nodiscard]] bool IsCompressed() const { return compressed.value_or(false); }
  [[nodiscard]] std::uint64_t ChunkSize() const { return chunk_size.value_or(kDefaultChunkSize); }
  [[nodiscard]] std::uint64_t Skip() const { return skip.value_or(0); }
  [[nodiscard]] std::uint64_t Seek() const { return seek.value_or(0); }
  [[nodiscard]] std::int64_t Count() const { return count.value_or(-1); }
  [[nodiscard]] bool Truncate() const { return truncate.value_or(true); }
  [[nodiscard]] bool Format() const { return format.value_or(false); }
  // Bytes the installed content takes: the uncompressed size when known, else the size.
  [[nodiscard]] std::uint64_t InstalledSize() const;
};

struct Metadata {
  std::string product;
  std::string version;
  // nullopt: "any" hardware.
  std::optional<std::vector<std::string>> supported_hardware;
  // 1 or 2 installation sets; set 0 is for slot A, set 1 for slot B.
  std::vector<std::vector<Object>> sets;

  [[nodiscard]] bool SupportsHardware(std::string_view hardware) const;
  // Each distinct object (by sha256) once, in order of first appearance.
  [[nodiscard]] std::vector<const Object*> DistinctObjects() const;
};

// Parses and validates metadata bytes (JSON, at most 1 MiB).
[[nodiscard]] Expected<Metadata> ParseMetadata(std::string_view bytes);
[[nodiscard]] Expected<Metadata> MetadataFromJson(const nlohmann::json& json);
[[nodiscard]] Expected<Object> ObjectFromJson(const nlohmann::json& json);

[[nodiscard]] nlohmann::json ToJson(const Metadata& metadata);
[[nodiscard]] nlohmann::json ToJson(const Object& object);
// The canonical bytes uhu would write for this metadata (Python's sort_keys JSON).
[[nodiscard]] std::string SerializeMetadata(const Metadata& metadata);

}  // namespace uh::package
