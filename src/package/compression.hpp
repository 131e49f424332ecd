#pragma once

// Compressed objects: detection by magic bytes and streaming decompression (libarchive's raw
// format with the filters of EnableDecompression).

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/error.hpp"

struct archive;

namespace uh::package {

enum class Compression { kNone, kGzip, kXz, kLzma, kZstd, kLzop };

[[nodiscard]] std::string_view CompressionName(Compression compression);

// Detects the compression of data starting with `head` (its first bytes; 16 are enough).
[[nodiscard]] Compression DetectCompression(std::span<const std::byte> head);
[[nodiscard]] Expected<Compression> DetectFileCompression(const std::filesystem::path& path);

// Registers on a libarchive reader the decompression filters an object may use: gzip, bzip2, xz,
// lzma, zstd and lzop (lzop through the `lzop` program, as this libarchive has no liblzo). A
// chosen list rather than libarchive's "all": no filter runs an external program for data that
// merely looks like lrzip or grzip, and a statically linked libarchive brings only these.
void EnableDecompression(archive* reader);

// Size of the file's content once decompressed, by decompressing it as a stream.
[[nodiscard]] Expected<std::uint64_t> UncompressedSize(const std::filesystem::path& path);

}  // namespace uh::package
