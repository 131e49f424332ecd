#pragma once

// Reading `.uhupkg` files: a ZIP with `metadata`, `signature` and one member per object named by
// its sha256. Everything in a package is untrusted: sizes are bounded, names are checked, object
// bytes are streamed (never loaded whole) and compared with the metadata's size and sha256.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "package/metadata.hpp"
#include "package/signature.hpp"

namespace uh::package {

inline constexpr std::string_view kMetadataMember = "metadata";
inline constexpr std::string_view kSignatureMember = "signature";

struct ReaderLimits {
  std::uint64_t max_metadata_bytes = 1024 * 1024;
  std::uint64_t max_signature_bytes = 16 * 1024;  // base64 of a 16384-bit RSA signature < 3 KiB
  std::size_t max_members = 1024;
};

struct Member {
  std::string name;
  std::uint64_t size = 0;
};

using ByteSink = std::function<Expected<void>(std::span<const std::byte>)>;

class PackageReader {
 public:
  // Opens a package and checks its structure: a readable ZIP of regular-file members with valid,
  // unique names; `metadata` present, at most 1 MiB, valid; `signature` present (it may be
  // empty); exactly one member per distinct object, of the declared size. Object bytes are not
  // read yet: see CheckObjects. Errors: kMalformed (structure), kTooLarge (metadata over the
  // limit), kIntegrity (an object member's size differs from the metadata), kNotFound, kIo.
  [[nodiscard]] static Expected<PackageReader> Open(const std::filesystem::path& path,
                                                    ReaderLimits limits = {});

  // The checks of Open after its scan, on members read by other means (PackageStream, which
  // read `file_size` bytes): `path` only names the package in messages, and CheckObjects and
  // ReadObject are not for such a reader (its objects were hashed as they were read).
  [[nodiscard]] static Expected<PackageReader> FromMembers(
      const std::filesystem::path& path, std::vector<Member> members, std::string metadata_bytes,
      std::string signature, std::uint64_t file_size, ReaderLimits limits = {});

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const std::vector<Member>& members() const { return members_; }
  [[nodiscard]] const std::string& metadata_bytes() const { return metadata_bytes_; }
  [[nodiscard]] const Metadata& metadata() const { return metadata_; }
  // Base64 text of the signature member, without a trailing newline; empty when unsigned.
  [[nodiscard]] const std::string& signature() const { return signature_; }
  [[nodiscard]] bool is_signed() const { return !signature_.empty(); }
  // The package UID: sha256 of the metadata bytes.
  [[nodiscard]] const std::string& uid() const { return uid_; }
  // Sum of the sizes of the distinct objects.
  [[nodiscard]] std::uint64_t objects_size() const;

  [[nodiscard]] Expected<void> VerifySignature(const PublicKey& key) const;

  // Streams every object member and checks its size and sha256 (kIntegrity on mismatch).
  // `progress` receives the number of object bytes read so far.
  [[nodiscard]] Expected<void> CheckObjects(const ProgressFn& progress = {}) const;

  // Streams the object `sha256` to `sink`, checking size and hash on the way; the sink sees the
  // bytes before the final hash check, so its output is trustworthy only when this succeeds.
  [[nodiscard]] Expected<void> ReadObject(std::string_view sha256, const ByteSink& sink,
                                          const ProgressFn& progress = {}) const;

 private:
  PackageReader() = default;
  // Visits the members in archive order; `visit` returns true to read the member's data
  // through `sink`, false to skip it.
  using Visitor = std::function<Expected<bool>(const Member&)>;
  [[nodiscard]] Expected<void> Scan(
      const Visitor& visit,
      const std::function<Expected<void>(const Member&, std::span<const std::byte>)>& data) const;

  std::filesystem::path path_;
  ReaderLimits limits_;
  std::vector<Member> members_;
  std::string metadata_bytes_;
  std::string signature_;
  std::string uid_;
  Metadata metadata_;
};

}  // namespace uh::package
