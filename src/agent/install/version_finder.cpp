#include "agent/install/version_finder.hpp"

#include <archive.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/regex.hpp>
#include <cerrno>
#include <memory>
#include <vector>

namespace uh::agent {
namespace {

constexpr std::uint32_t kUImageMagic = 0x27051956;     // big endian, at 0
constexpr std::uint32_t kArmZImageMagic = 0x016F2818;  // little endian, at 0x24
constexpr std::size_t kVersionWindow = 0x200;          // bytes the known patterns look at
constexpr std::size_t kGzipSearch = 64 * 1024;         // where an ARM zImage's payload starts
constexpr std::size_t kScanChunk = 64 * 1024;
constexpr std::size_t kScanOverlap = 256;
constexpr std::size_t kMaxString = 64 * 1024;

// Versions as upstream's patterns define them: digits, maybe one character, a dot, then
// anything up to whitespace or NUL. The one character is not whitespace or NUL either.
const char kKernelPattern[] = R"((\d+[^\s\x00]?\.[^\s\x00]+))";
const char kUBootPattern[] = R"(U-Boot(?: SPL)? (\d+[^\s\x00]?\.[^\s\x00]+))";

Expected<boost::regex> Compile(std::string_view pattern) {
  try {
    return boost::regex(pattern.begin(), pattern.end(), boost::regex::perl);
  } catch (const std::exception& e) {
    return Fail(Errc::kMalformed, "invalid regexp '" + std::string(pattern) + "': " + e.what());
  }
}

// The first capture group of `re` in [begin, end); a pattern too costly to run is an error.
Expected<std::optional<std::string>> Search(const char* begin, const char* end,
                                            const boost::regex& re,
                                            const char** match_end = nullptr) {
  try {
    boost::cmatch match;
    if (!boost::regex_search(begin, end, match, re, boost::match_not_dot_newline)) {
      return std::nullopt;
    }
    if (match.size() < 2 || !match[1].matched) return std::nullopt;
    if (match_end != nullptr) *match_end = match[0].second;
    return std::string(match[1].first, match[1].second);
  } catch (const std::exception& e) {
    return Fail(Errc::kMalformed, std::string("regexp search failed: ") + e.what());
  }
}

Expected<std::string> ReadString(const ByteRegion& region, std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  auto n = region.ReadAt(offset, std::as_writable_bytes(std::span(out.data(), out.size())));
  if (!n) return std::unexpected(std::move(n.error()));
  out.resize(*n);
  return out;
}

std::optional<std::uint32_t> ReadU32(std::string_view bytes, std::size_t at, bool big_endian) {
  if (bytes.size() < at + 4) return std::nullopt;
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const auto byte = static_cast<std::uint8_t>(bytes[at + (big_endian ? i : 3 - i)]);
    value = (value << 8) | byte;
  }
  return value;
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// The first `size` bytes of the gzip stream at the start of `data`; nullopt when it is not one.
std::optional<std::string> Gunzip(std::string_view data, std::size_t size) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) return std::nullopt;
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    return std::nullopt;
  }
  if (archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_GZIP) return std::nullopt;
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) return std::nullopt;
  std::string out(size, '\0');
  std::size_t filled = 0;
  while (filled < size) {
    const la_ssize_t n = archive_read_data(a.get(), out.data() + filled, size - filled);
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled == 0) return std::nullopt;
  out.resize(filled);
  return out;
}

// Where to read the kernel's version string, by image kind (upstream's offsets).
Expected<std::optional<std::string>> KernelVersionWindow(const ByteRegion& region) {
  auto head = ReadString(region, 0, 0x212);
  if (!head) return std::unexpected(std::move(head.error()));
  if (ReadU32(*head, 0, true) == kUImageMagic) return head->substr(0, kVersionWindow);
  if (ReadU32(*head, 0x24, false) == kArmZImageMagic) {
    // The compressed kernel follows the decompressor: the first gzip stream after the header.
    auto area = ReadString(region, 0x28, kGzipSearch);
    if (!area) return std::unexpected(std::move(area.error()));
    int tries = 0;
    for (std::size_t at = area->find("\x1f\x8b\x08"); at != std::string::npos && tries < 16;
         at = area->find("\x1f\x8b\x08", at + 1), ++tries) {
      auto tail = ReadString(region, 0x28 + at, kGzipSearch);
      if (!tail) return std::unexpected(std::move(tail.error()));
      if (auto text = Gunzip(*tail, kVersionWindow)) return text;
    }
    return std::nullopt;
  }
  // x86 boot protocol: boot_flag 0xAA55 at 0x1FE, setup_sects at 0x1F1, kernel_version (a
  // pointer less 0x200, inside the setup sectors) at 0x20E.
  if (head->size() < 0x212 || static_cast<std::uint8_t>((*head)[0x1FE]) != 0x55 ||
      static_cast<std::uint8_t>((*head)[0x1FF]) != 0xAA) {
    return std::nullopt;
  }
  const std::uint64_t setup_sects = static_cast<std::uint8_t>((*head)[0x1F1]);
  const std::uint64_t pointer =
      static_cast<std::uint8_t>((*head)[0x20E]) |
      (static_cast<std::uint64_t>(static_cast<std::uint8_t>((*head)[0x20F])) << 8);
  if (pointer >= setup_sects * 0x200) return std::nullopt;
  auto window = ReadString(region, pointer + 0x200, kVersionWindow);
  if (!window) return std::unexpected(std::move(window.error()));
  return *window;
}

bool Printable(char c) { return c >= 0x20 && c <= 0x7e; }

}  // namespace

Expected<std::size_t> ByteRegion::ReadAt(std::uint64_t offset, std::span<std::byte> buffer) const {
  if (limit_) {
    if (offset >= *limit_) return 0;
    buffer = buffer.first(std::min<std::uint64_t>(buffer.size(), *limit_ - offset));
  }
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    const ssize_t n = ::pread(fd_, buffer.data() + filled, buffer.size() - filled,
                              static_cast<off_t>(base_ + offset + filled));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("read");
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  return filled;
}

Expected<std::optional<std::string>> LinuxKernelVersion(const ByteRegion& region) {
  auto window = KernelVersionWindow(region);
  if (!window) return std::unexpected(std::move(window.error()));
  if (!*window) return std::nullopt;
  auto re = Compile(kKernelPattern);
  if (!re) return std::unexpected(std::move(re.error()));
  const std::string& text = **window;
  return Search(text.data(), text.data() + text.size(), *re);
}

Expected<std::optional<std::string>> UBootVersion(const ByteRegion& region) {
  auto re = Compile(kUBootPattern);
  if (!re) return std::unexpected(std::move(re.error()));
  // Overlapping windows, so that a version string across a window boundary is seen whole.
  std::uint64_t offset = 0;
  for (;;) {
    auto chunk = ReadString(region, offset, kScanChunk);
    if (!chunk) return std::unexpected(std::move(chunk.error()));
    const bool last = chunk->size() < kScanChunk;
    const char* begin = chunk->data();
    const char* end = begin + chunk->size();
    const char* match_end = nullptr;
    auto found = Search(begin, end, *re, &match_end);
    if (!found) return std::unexpected(std::move(found.error()));
    // A match reaching the window's end may be cut short: the next window sees it whole.
    if (*found && (last || match_end < end)) return found;
    if (last) return std::nullopt;
    offset += kScanChunk - kScanOverlap;
  }
}

Expected<std::optional<std::string>> CustomPatternVersion(const ByteRegion& region,
                                                          std::string_view regexp,
                                                          std::int64_t seek,
                                                          std::int64_t buffer_size) {
  auto re = Compile(regexp);
  if (!re) return std::unexpected(std::move(re.error()));
  if (seek < 0) return Fail(Errc::kMalformed, "negative pattern seek");
  const std::optional<std::uint64_t> limit =
      buffer_size > 0 ? std::optional<std::uint64_t>(buffer_size) : std::nullopt;
  std::string current;
  // Runs the regexp over one printable string; the first capture wins.
  auto try_string = [&](const std::string& text) -> Expected<std::optional<std::string>> {
    if (text.size() < 4) return std::nullopt;
    return Search(text.data(), text.data() + text.size(), *re);
  };
  std::vector<std::byte> buffer(kScanChunk);
  std::uint64_t done = 0;
  for (;;) {
    std::size_t want = buffer.size();
    if (limit) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, *limit - done));
    if (want == 0) break;
    auto n = region.ReadAt(static_cast<std::uint64_t>(seek) + done, std::span(buffer.data(), want));
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) break;
    done += *n;
    for (std::size_t i = 0; i < *n; ++i) {
      const char c = static_cast<char>(buffer[i]);
      if (Printable(c) && current.size() < kMaxString) {
        current.push_back(c);
        continue;
      }
      auto found = try_string(current);
      if (!found || *found) return found;
      current.clear();
      if (Printable(c)) current.push_back(c);
    }
  }
  return try_string(current);
}

}  // namespace uh::agent
