// ParseMountInfo on untrusted /proc/self/mountinfo text (under a simulated device's target root
// it is a plain file; on a device, mount points and sources are names users and packages chose).
// Bad lines are skipped, never a crash. Each entry, escaped as the kernel escapes it and parsed
// again, gives the same entry; FindMount finds each entry by its source and device number.

#include <sys/sysmacros.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "agent/install/mountinfo.hpp"
#include "fuzz_check.hpp"

namespace {

using uh::agent::MountEntry;

// What the kernel writes for a path: space, tab, newline and backslash as \ooo.
std::string Escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\%03o", static_cast<unsigned char>(c));
      out += escape;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Line(const MountEntry& entry) {
  return "36 35 " + std::to_string(entry.major) + ":" + std::to_string(entry.minor) + " / " +
         Escape(entry.mount_point) + " rw,noatime shared:1 - " + Escape(entry.fs_type) + " " +
         Escape(entry.source) + " rw\n";
}

bool Same(const MountEntry& a, const MountEntry& b) {
  return a.major == b.major && a.minor == b.minor && a.mount_point == b.mount_point &&
         a.fs_type == b.fs_type && a.source == b.source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto mounts = uh::agent::ParseMountInfo(text);
  const auto lines = static_cast<std::size_t>(std::ranges::count(text, '\n')) + 1;
  UH_FUZZ_CHECK(mounts.size() <= lines, "more mounts than lines");

  std::string written;
  for (const auto& entry : mounts) {
    UH_FUZZ_CHECK(!entry.mount_point.empty() && !entry.fs_type.empty() && !entry.source.empty(),
                  "an entry has an empty field");
    written += Line(entry);

    const auto by_source = uh::agent::FindMount(mounts, entry.source, std::nullopt);
    UH_FUZZ_CHECK(by_source && by_source->source == entry.source, "FindMount misses a source");
    const auto by_number = uh::agent::FindMount(mounts, "", ::makedev(entry.major, entry.minor));
    UH_FUZZ_CHECK(by_number && by_number->major == entry.major && by_number->minor == entry.minor,
                  "FindMount misses a device number");
  }

  const auto reread = uh::agent::ParseMountInfo(written);
  UH_FUZZ_CHECK(reread.size() == mounts.size(), "escaped entries do not all parse again");
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    UH_FUZZ_CHECK(Same(reread[i], mounts[i]), "an escaped entry parses differently");
  }
  return 0;
}
