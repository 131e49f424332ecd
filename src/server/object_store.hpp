#pragma once

// Package objects on disk, stored once by sha256 (content addressed): a second package with the
// same object does not store it again. Layout: DIR/ab/abcdef... (first two hex digits as a
// directory, so no directory grows without bound).

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "package/package_reader.hpp"

namespace uh::server {

class ObjectStore {
 public:
  // What Open does with the temporary files of imports found in the directory: a directory of
  // this server's own only has those of imports a crash cut (all go); one shared by several
  // servers also has those other servers are writing now (only those untouched for an hour go).
  enum class Leftovers { kMine, kShared };
  [[nodiscard]] static Expected<ObjectStore> Open(const std::filesystem::path& dir,
                                                  Leftovers leftovers = Leftovers::kMine);

  [[nodiscard]] std::filesystem::path PathOf(std::string_view sha256) const;
  [[nodiscard]] bool Has(std::string_view sha256) const;
  // Copies the object out of a package, checking its hash on the way; the file appears under
  // its final name only when complete and verified. Already present: nothing is written.
  [[nodiscard]] Expected<void> Import(const package::PackageReader& package,
                                      const package::Object& object);
  // A new file for `size` bytes of the object `sha256`, under a temporary name beside where it
  // goes (so that Commit moves it there: a rename, not a copy); kNoSpace when they would not
  // leave CheckFreeSpace's margin. Destroyed without Commit, it goes. Its bytes are the
  // caller's to check.
  [[nodiscard]] Expected<AtomicFile> Stage(std::string_view sha256, std::uint64_t size) const;
  // Puts a staged object in place (fsync, rename, fsync of its directory); already present:
  // the staged file goes and the stored one stays.
  [[nodiscard]] Expected<void> Commit(std::string_view sha256, AtomicFile staged) const;
  [[nodiscard]] Expected<void> Remove(std::string_view sha256);
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  explicit ObjectStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

}  // namespace uh::server
