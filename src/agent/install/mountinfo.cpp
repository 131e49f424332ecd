#include "agent/install/mountinfo.hpp"

#include <sys/sysmacros.h>

#include <charconv>

namespace uh::agent {
namespace {

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos == line.size()) break;
    const auto end = std::min(line.find(' ', pos), line.size());
    fields.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

// The kernel escapes space, tab, newline and backslash in paths as \ooo.
std::string Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const auto digits = text.substr(i + 1, 3);
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + 3, value, 8);
      if (ec == std::errc() && end == digits.data() + 3 && value < 256) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool ParseDeviceNumber(std::string_view text, unsigned& major, unsigned& minor) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const auto parse = [](std::string_view part, unsigned& value) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return ec == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  return parse(text.substr(0, colon), major) && parse(text.substr(colon + 1), minor);
}

}  // namespace

std::vector<MountEntry> ParseMountInfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const auto fields = SplitFields(text.substr(pos, end - pos));
    pos = end + 1;
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    if (fields.size() < 9) continue;
    std::size_t separator = 6;
    while (separator < fields.size() && fields[separator] != "-") ++separator;
    if (separator + 2 >= fields.size()) continue;
    MountEntry entry;
    if (!ParseDeviceNumber(fields[2], entry.major, entry.minor)) continue;
    entry.mount_point = Unescape(fields[4]);
    entry.fs_type = Unescape(fields[separator + 1]);
    entry.source = Unescape(fields[separator + 2]);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

std::optional<MountEntry> FindMount(const std::vector<MountEntry>& mounts, std::string_view device,
                                    std::optional<dev_t> rdev) {
  for (const auto& entry : mounts) {
    if (entry.source == device) return entry;
    if (rdev && ::major(*rdev) == entry.major && ::minor(*rdev) == entry.minor) return entry;
  }
  return std::nullopt;
}

}  // namespace uh::agent
