#pragma once

// An object's content as a stream: the file itself, or, for a compressed object, its
// decompressed bytes (libarchive's raw format with every filter: gzip, xz, lzma, zstd, bzip2,
// lzop...). Corrupt compressed data is an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "agent/install/installer.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

struct archive;

namespace uh::agent {

class ObjectStream {
 public:
  // `decompress`: the object is compressed; data in no known compressed format is kMalformed.
  [[nodiscard]] static Expected<ObjectStream> Open(const std::filesystem::path& path,
                                                   bool decompress);
  // The object of an install: ctx.object_fd when set, ctx.object_file otherwise.
  [[nodiscard]] static Expected<ObjectStream> Open(const InstallContext& ctx, bool decompress);

  // Up to buffer.size() bytes; 0 at the end.
  [[nodiscard]] Expected<std::size_t> Read(std::span<std::byte> buffer);
  // Reads and drops up to `bytes`; returns how many there were.
  [[nodiscard]] Expected<std::uint64_t> Skip(std::uint64_t bytes);

 private:
  struct ArchiveDeleter {
    void operator()(archive* a) const;
  };
  ObjectStream() = default;
  [[nodiscard]] static Expected<ObjectStream> Open(File file, std::filesystem::path name,
                                                   bool decompress);

  std::filesystem::path path_;
  File file_;
  std::unique_ptr<archive, ArchiveDeleter> archive_;
  bool at_end_ = false;
};

// The object's bytes as they are (compressed or not): a descriptor of its own on ctx.object_fd
// when set, ctx.object_file opened for reading otherwise.
[[nodiscard]] Expected<File> OpenObjectFile(const InstallContext& ctx);

}  // namespace uh::agent
