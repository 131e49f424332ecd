#include "package/compression.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>

#include "core/fs.hpp"
#include "package/archive_util.hpp"

namespace uh::package {
namespace {

bool StartsWith(std::span<const std::byte> data, std::initializer_list<unsigned> magic) {
  if (data.size() < magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), data.begin(),
                    [](unsigned m, std::byte b) { return std::to_integer<unsigned>(b) == m; });
}

}  // namespace

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kLzma:
      return "lzma";
    case Compression::kZstd:
      return "zstd";
    case Compression::kLzop:
      return "lzop";
  }
  return "unknown";
}

Compression DetectCompression(std::span<const std::byte> head) {
  if (StartsWith(head, {0x1f, 0x8b})) return Compression::kGzip;
  if (StartsWith(head, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00})) return Compression::kXz;
  if (StartsWith(head, {0x28, 0xb5, 0x2f, 0xfd})) return Compression::kZstd;
  if (StartsWith(head, {0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a})) {
    return Compression::kLzop;
  }
  // The legacy .lzma header: properties byte 0x5d, a little-endian dictionary size that is a
  // power of two, then the uncompressed size (all ones when unknown). Checked strictly, since
  // 0x5d alone would match plain data.
  if (head.size() >= 13 && std::to_integer<unsigned>(head[0]) == 0x5d) {
    std::uint32_t dict = 0;
    for (int i = 4; i >= 1; --i) dict = (dict << 8) | std::to_integer<unsigned>(head[i]);
    const bool power_of_two = dict >= 4096 && (dict & (dict - 1)) == 0;
    if (power_of_two) return Compression::kLzma;
  }
  return Compression::kNone;
}

Expected<Compression> DetectFileCompression(const std::filesystem::path& path) {
  auto file = File::OpenRead(path);
  if (!file) return std::unexpected(file.error());
  std::array<std::byte, 16> head{};
  std::size_t filled = 0;
  while (filled < head.size()) {
    auto n = file->Read(std::span(head).subspan(filled));
    if (!n) return std::unexpected(n.error().WithContext(path.string()));
    if (*n == 0) break;
    filled += *n;
  }
  return DetectCompression(std::span(head.data(), filled));
}

void EnableDecompression(archive* reader) {
  archive_read_support_filter_gzip(reader);
  archive_read_support_filter_bzip2(reader);
  archive_read_support_filter_xz(reader);
  archive_read_support_filter_lzma(reader);
  archive_read_support_filter_zstd(reader);
  archive_read_support_filter_lzop(reader);
}

Expected<std::uint64_t> UncompressedSize(const std::filesystem::path& path) {
  detail::ArchiveReadPtr reader(archive_read_new());
  archive* a = reader.get();
  EnableDecompression(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_filename(a, path.c_str(), kIoBufferSize) != ARCHIVE_OK) {
    return Fail(Errc::kMalformed, path.string() + ": " + detail::ArchiveError(a));
  }
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a, &entry) != ARCHIVE_OK) {
    return Fail(Errc::kMalformed, path.string() + ": " + detail::ArchiveError(a));
  }
  std::uint64_t total = 0;
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(a, &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return Fail(Errc::kMalformed,
                  "decompressing " + path.string() + ": " + detail::ArchiveError(a));
    }
    total = static_cast<std::uint64_t>(offset) + size;
  }
  return total;
}

}  // namespace uh::package
