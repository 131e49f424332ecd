#pragma once

// Reading a `.uhupkg` as its bytes arrive (an upload), so that nothing is read twice: metadata
// and signature are kept in memory, and each object's bytes are written once, to a file of its
// own that the caller later renames into place, and hashed (SHA-256, CRC-32) on the way.
//
// Only the layout that uhu and updatehub-pkg write is split this way: ZIP members one after the
// other from the first byte, stored (not deflated), their sizes in the local headers (a data
// descriptor after the data allowed), then a central directory that describes exactly those
// members, and nothing after it. Anything else (deflated members, ZIP64, unknown extra fields,
// a member PackageReader would refuse, a directory that disagrees with the members read) turns
// the stream into a plain copy of the body: what was split so far is written back in order and
// the rest follows, so that PackageReader::Open reads the very bytes that arrived and the
// package gets the answer it gets as a file.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "package/package_reader.hpp"

namespace uh::package {

// An object member's bytes as received.
struct StreamedObject {
  std::string sha256;  // the member's name, which its bytes must hash to
  std::uint64_t size = 0;
  std::string digest;  // SHA-256 of the bytes received
  AtomicFile file;     // holding them, not committed
};

class PackageStream {
 public:
  // A new file for the `size` bytes of the object member `sha256` (committed by the caller once
  // the package is accepted). Failing with kNoSpace turns the stream into a copy (see above).
  using OpenObject =
      std::function<Expected<AtomicFile>(std::string_view sha256, std::uint64_t size)>;
  // An empty file for the body when it cannot be split.
  using OpenCopy = std::function<Expected<File>()>;

  PackageStream(OpenObject open_object, OpenCopy open_copy, ReaderLimits limits = {});
  ~PackageStream();
  PackageStream(PackageStream&&) noexcept;
  PackageStream& operator=(PackageStream&&) noexcept;

  // The next bytes of the package. Errors are those of writing (kNoSpace, kIo).
  [[nodiscard]] Expected<void> Write(std::span<const std::byte> bytes);

  struct Split {
    PackageReader reader;  // FromMembers: structure and metadata checked, objects not yet
    std::vector<StreamedObject> objects;
  };
  // Once every byte was written: the package split, or nullopt when the body went to the copy
  // file instead. Errors: those of PackageReader::FromMembers (named
  // `label`), and of writing the copy.
  [[nodiscard]] Expected<std::optional<Split>> Finish(const std::filesystem::path& label);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace uh::package
