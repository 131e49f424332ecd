#pragma once

// Helpers for the installer tests: fake tools that record their arguments, compressed data and
// archives made with libarchive, objects taken from the test packages (and from upstream's, where
// those are the point).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/install/installer.hpp"
#include "package/metadata.hpp"
#include "support/test_support.hpp"

namespace uh::agent::testing {

// A directory of fake tools (small sh scripts) that append "name arg1 arg2..." to a log.
class FakeTools {
 public:
  explicit FakeTools(const std::filesystem::path& dir);
  // A tool that records its call, then runs `body` (sh) and exits with `exit_code`. Scripts see
  // only this directory on PATH: call other programs by absolute path.
  void Add(const std::string& name, const std::string& body = "", int exit_code = 0) const;
  // mount/umount that "mount" by making the mount point a symlink to `filesystem`.
  void AddMountEmulation(const std::filesystem::path& filesystem) const;
  [[nodiscard]] std::string path() const { return bin_.string(); }
  // The recorded calls, one per line.
  [[nodiscard]] std::vector<std::string> Calls() const;

 private:
  std::filesystem::path bin_;
  std::filesystem::path log_;
};

// A simulated device under `dir`: root <dir>/root, work dir <dir>/work, tools <dir>/bin.
struct Device {
  explicit Device(const std::filesystem::path& dir);
  // Creates <root><device_path> as a regular file holding `content`.
  std::filesystem::path AddFile(std::string_view device_path, std::string_view content) const;
  // Creates <root><device_path> as a directory.
  std::filesystem::path AddDir(std::string_view device_path) const;
  std::filesystem::path root;
  FakeTools tools;
  InstallContext ctx;
};

enum class Filter { kGzip, kXz, kZstd, kLzma, kBzip2, kLz4 };
[[nodiscard]] std::string Compress(std::string_view data, Filter filter);
// Decompresses in memory (for expected values; independent of the installers' streams).
[[nodiscard]] std::string Decompress(std::string_view data);

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink };
  Type type = Type::kFile;
  std::string name;
  std::string content;  // file data, or the link target
  unsigned mode = 0644;
};
// An archive of `entries` in `format` (a libarchive ARCHIVE_FORMAT_ code; default tar, pax),
// gzip-compressed when `gzip`.
[[nodiscard]] std::string MakeTar(const std::vector<TarEntry>& entries, bool gzip = false,
                                  int format = 0);

// An object of the package file `package` by filename, in installation set `set`, with its
// bytes written to `dir`/<sha256>.
struct PackageObject {
  package::Object object;
  std::filesystem::path file;
};
[[nodiscard]] PackageObject LoadPackageObject(const std::filesystem::path& package,
                                              const std::string& filename,
                                              const std::filesystem::path& dir,
                                              std::size_t set = 0);
// The same from a test package (uh::testing::TestPackagesDir()), e.g. "signed.uhupkg".
[[nodiscard]] PackageObject LoadTestObject(const std::string& package, const std::string& filename,
                                           const std::filesystem::path& dir, std::size_t set = 0);

// A file holding `data`, for ctx.object_file.
std::filesystem::path WriteObject(const std::filesystem::path& dir, std::string_view data);

}  // namespace uh::agent::testing
