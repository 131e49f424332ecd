#pragma once

// An object's content as a stream: the file itself, or, for a compressed object, its
// decompressed bytes (libarchive's raw format with every filter: gzip, xz, lzma, zstd, bzip2,
// lzop...). Corrupt compressed data is an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "core/error.hpp"
#include "core/fs.hpp"

struct archive;

namespace uh::agent {

class ObjectStream {
 public:
  // `decompress`: the object is compressed; data in no known compressed format is kMalformed.
  [[nodiscard]] static Expected<ObjectStream> Open(const std::filesystem::path& path,
                                                   bool decompress);

  // Up to buffer.size() bytes; 0 at the end.
  [[nodiscard]] Expected<std::size_t> Read(std::span<std::byte> buffer);
  // Reads and drops up to `bytes`; returns how many there were.
  [[nodiscard]] Expected<std::uint64_t> Skip(std::uint64_t bytes);

 private:
  struct ArchiveDeleter {
    void operator()(archive* a) const;
  };
  ObjectStream() = default;

  std::filesystem::path path_;
  File file_;
  std::unique_ptr<archive, ArchiveDeleter> archive_;
  bool at_end_ = false;
};

}  // namespace uh::agent
