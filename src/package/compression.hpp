#pragma once

// Compressed objects: detection by magic bytes and streaming decompression (libarchive's raw
// format with every filter it has: gzip, xz, lzma, zstd, lzop...).

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/error.hpp"

namespace uh::package {

enum class Compression { kNone, kGzip, kXz, kLzma, kZstd, kLzop };

[[nodiscard]] std::string_view CompressionName(Compression compression);

// Detects the compression of data starting with `head` (its first bytes; 16 are enough).
[[nodiscard]] Compression DetectCompression(std::span<const std::byte> head);
[[nodiscard]] Expected<Compression> DetectFileCompression(const std::filesystem::path& path);

// Size of the file's content once decompressed, by decompressing it as a stream.
[[nodiscard]] Expected<std::uint64_t> UncompressedSize(const std::filesystem::path& path);

}  // namespace uh::package
