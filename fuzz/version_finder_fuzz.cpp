// The install-if-different version readers on untrusted target content: whatever a device's
// partition holds (a previous update, a corrupt write) is read as a Linux kernel image (uImage,
// ARM zImage with its gzip payload, x86 bzImage), searched for a U-Boot banner, and scanned with
// a custom pattern. Nothing here may trust an offset or a length it reads. A version found is
// never empty nor holds whitespace; the U-Boot banner is found whole even where it straddles the
// 64 KiB windows of the scan.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/install/version_finder.hpp"
#include "fuzz_check.hpp"

namespace {

using uh::agent::ByteRegion;

// The U-Boot scan's windows and their overlap.
constexpr std::uint64_t kScanChunk = 64 * 1024;
constexpr std::size_t kScanOverlap = 256;

// One in-memory file reused for every input.
int File() {
  static const int fd = [] {
    const int created = ::memfd_create("uh-version-finder-fuzz", MFD_CLOEXEC);
    UH_FUZZ_CHECK(created >= 0, "cannot create the memory file");
    return created;
  }();
  return fd;
}

// The file holds `bytes` at `offset`, zeros before.
void Fill(std::string_view bytes, std::uint64_t offset) {
  const int fd = File();
  UH_FUZZ_CHECK(::ftruncate(fd, 0) == 0, "cannot truncate the memory file");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    UH_FUZZ_CHECK(n > 0, "cannot write the memory file");
    done += static_cast<std::size_t>(n);
  }
}

// A version as the finders return it: a result, a clean one, or a kMalformed error.
std::optional<std::string> Checked(const uh::Expected<std::optional<std::string>>& found) {
  if (!found) {
    UH_FUZZ_CHECK(found.error().code() == uh::Errc::kMalformed,
                  "a version finder failed with something other than kMalformed");
    return std::nullopt;
  }
  if (!*found) return std::nullopt;
  const std::string& version = **found;
  UH_FUZZ_CHECK(!version.empty(), "an empty version was found");
  UH_FUZZ_CHECK(version.find_first_of(std::string_view(" \t\r\n\v\f\0", 7)) == std::string::npos,
                "a version holds whitespace or NUL");
  return version;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  Fill(content, 0);
  const ByteRegion whole(File(), 0, std::nullopt);

  (void)Checked(uh::agent::LinuxKernelVersion(whole));
  // The kernel at a raw object's seek offset, in a region cut short.
  (void)Checked(uh::agent::LinuxKernelVersion(ByteRegion(File(), 16, size / 2)));

  const auto uboot = Checked(uh::agent::UBootVersion(whole));
  if (uboot)
    UH_FUZZ_CHECK(content.find(*uboot) != std::string_view::npos, "U-Boot version made up");

  const auto custom =
      Checked(uh::agent::CustomPatternVersion(whole, R"(Linux version (\S+))", 0, 0));
  if (custom) UH_FUZZ_CHECK(content.find(*custom) != std::string_view::npos, "version made up");
  (void)Checked(uh::agent::CustomPatternVersion(whole, R"(v(\d+)\.(\d+))", 8, 64));

  // The same content across the boundary of the U-Boot scan's first window: the windows
  // overlap by 256 bytes, so a banner shorter than that ("U-Boot SPL " and the version) is
  // found whole.
  if (uboot && uboot->size() + 11 < kScanOverlap) {
    Fill(content, kScanChunk - size / 2);
    const auto straddling = Checked(uh::agent::UBootVersion(whole));
    UH_FUZZ_CHECK(straddling == uboot, "a U-Boot banner across the scan windows reads differently");
  }
  return 0;
}
