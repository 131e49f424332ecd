#pragma once

// Helpers shared by the fuzz targets: text checks for properties, and a scratch
// directory for parsers that read files.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "fuzz_check.hpp"

namespace uh::fuzz {

// A TOML basic string: quotes, backslashes and control characters escaped.
inline std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), the only text JSON and TOML writers can emit as it is.
inline bool IsValidUtf8(std::string_view text) {
  struct Lead {
    unsigned char mask, value;
    std::size_t length;
    std::uint32_t minimum;
  };
  constexpr Lead kLeads[] = {
      {0xe0, 0xc0, 2, 0x80}, {0xf0, 0xe0, 3, 0x800}, {0xf8, 0xf0, 4, 0x10000}};
  for (std::size_t i = 0; i < text.size();) {
    const auto first = static_cast<unsigned char>(text[i]);
    if (first < 0x80) {
      ++i;
      continue;
    }
    const Lead* lead = nullptr;
    for (const Lead& candidate : kLeads) {
      if ((first & candidate.mask) == candidate.value) lead = &candidate;
    }
    if (lead == nullptr || text.size() - i < lead->length) return false;
    std::uint32_t code_point = first & static_cast<unsigned char>(~lead->mask);
    for (std::size_t k = 1; k < lead->length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    if (code_point < lead->minimum || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += lead->length;
  }
  return true;
}

// Whether `text` holds an ASCII control character (what must never reach a log line or an HTTP
// header unescaped).
inline bool HasControl(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// The part of `text` before the first '\n', and the rest after it (empty when there is none).
struct FirstLine {
  std::string_view line;
  std::string_view rest;
};
inline FirstLine SplitFirstLine(std::string_view text) {
  const auto end = text.find('\n');
  if (end == std::string_view::npos) return {text, {}};
  return {text.substr(0, end), text.substr(end + 1)};
}

// A private directory under $TMPDIR (else /tmp), removed with everything in it at exit. Run
// file-based targets with TMPDIR on a tmpfs (/dev/shm): they write and fsync on every input.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/uh-fuzz.XXXXXX";
    UH_FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot create the scratch directory");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Writes `bytes` to the file `name` in the directory (replacing it) and returns its path.
  std::filesystem::path Write(std::string_view name, std::string_view bytes) const {
    auto file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    UH_FUZZ_CHECK(!out.fail(), "cannot write a scratch file");
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace uh::fuzz
