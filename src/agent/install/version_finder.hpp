#pragma once

// Reading the version of what a target holds, for install-if-different: a Linux kernel (uImage,
// ARM zImage, x86 bzImage/zImage), U-Boot, or a custom regular expression over the printable
// strings of a window of the target. Target content is untrusted: nothing here trusts an
// offset or a length it reads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::agent {

// Bytes [base, base + limit) of an open file or device (limit nullopt: to its end).
class ByteRegion {
 public:
  ByteRegion(int fd, std::uint64_t base, std::optional<std::uint64_t> limit)
      : fd_(fd), base_(base), limit_(limit) {}
  // Reads at `offset` in the region until `buffer` is full or the region ends.
  [[nodiscard]] Expected<std::size_t> ReadAt(std::uint64_t offset,
                                             std::span<std::byte> buffer) const;

 private:
  int fd_;
  std::uint64_t base_;
  std::optional<std::uint64_t> limit_;
};

// nullopt when no version is found.
[[nodiscard]] Expected<std::optional<std::string>> LinuxKernelVersion(const ByteRegion& region);
[[nodiscard]] Expected<std::optional<std::string>> UBootVersion(const ByteRegion& region);
// The first capture group of `regexp` (Perl syntax) in the printable strings (4 or more ASCII
// characters) of the `buffer_size` bytes at `seek` (buffer_size <= 0: to the end). A regexp
// that does not compile is kMalformed.
[[nodiscard]] Expected<std::optional<std::string>> CustomPatternVersion(const ByteRegion& region,
                                                                        std::string_view regexp,
                                                                        std::int64_t seek,
                                                                        std::int64_t buffer_size);

}  // namespace uh::agent
