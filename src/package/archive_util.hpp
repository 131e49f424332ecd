#pragma once

// Small RAII and error helpers around libarchive, private to the package library.

#include <archive.h>

#include <memory>
#include <string>

namespace uh::package::detail {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReadPtr = std::unique_ptr<archive, ArchiveReadDeleter>;

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ArchiveWritePtr = std::unique_ptr<archive, ArchiveWriteDeleter>;

inline std::string ArchiveError(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

}  // namespace uh::package::detail
