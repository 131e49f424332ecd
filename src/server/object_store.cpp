#include "server/object_store.hpp"

#include <cerrno>
#include <chrono>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::server {

Expected<ObjectStore> ObjectStore::Open(const std::filesystem::path& dir, Leftovers leftovers) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(Errc::kIo, "creating " + dir.string() + ": " + ec.message());
  // An import killed half-way leaves its temporary file (<sha256>.tmpN) beside the objects:
  // anything in XX/ that is not a whole object's name goes (when shared, once an hour old: an
  // import going on writes to its file all the time).
  const auto stale_before = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& prefix : std::filesystem::directory_iterator(dir, ec)) {
    if (!prefix.is_directory(ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(prefix.path(), ec)) {
      const std::string name = entry.path().filename().string();
      if (IsLowerHexSha256(name) && name.starts_with(prefix.path().filename().string())) continue;
      std::error_code removed;
      if (!entry.is_regular_file(removed)) continue;
      if (leftovers == Leftovers::kShared && entry.last_write_time(removed) > stale_before)
        continue;
      std::filesystem::remove(entry.path(), removed);
    }
  }
  if (ec) return Fail(Errc::kIo, "reading " + dir.string() + ": " + ec.message());
  return ObjectStore(dir);
}

std::filesystem::path ObjectStore::PathOf(std::string_view sha256) const {
  return dir_ / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

bool ObjectStore::Has(std::string_view sha256) const {
  std::error_code ec;
  return IsLowerHexSha256(sha256) && std::filesystem::is_regular_file(PathOf(sha256), ec);
}

namespace {

// A new file for the object at `path` (under a temporary name beside it), in its directory made
// first. An upload refused removes the directories it made (PackageUpload) when they are left
// empty: one made here may vanish before the file is made in it, and is made again.
Expected<AtomicFile> CreateObjectFile(const std::filesystem::path& path) {
  for (int attempt = 0;; ++attempt) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Fail(Errc::kIo, "creating " + path.parent_path().string() + ": " + ec.message());
    }
    auto out = AtomicFile::Create(path, 0600);  // served by the server alone
    if (out || out.error().code() != Errc::kNotFound || attempt == 3) return out;
  }
}

}  // namespace

Expected<void> ObjectStore::Import(const package::PackageReader& package,
                                   const package::Object& object) {
  if (Has(object.sha256sum)) return {};
  auto out = CreateObjectFile(PathOf(object.sha256sum));
  if (!out) return std::unexpected(out.error());
  // A file larger than the process may write (RLIMIT_FSIZE, EFBIG) is as much a lack of room
  // as a full disk (ENOSPC). On failure the temporary file goes with `out`: nothing partial stays.
  auto write = [&](std::span<const std::byte> bytes) -> Expected<void> {
    auto written = out->file().WriteAll(bytes);
    if (!written && errno == EFBIG) return Fail(Errc::kNoSpace, written.error().message());
    return written;
  };
  UH_TRY(package.ReadObject(object.sha256sum, write));
  return out->Commit();
}

Expected<AtomicFile> ObjectStore::Stage(std::string_view sha256, std::uint64_t size) const {
  if (!IsLowerHexSha256(sha256)) return Fail(Errc::kInvalidArgument, "not an object sha256");
  UH_TRY(CheckFreeSpace(dir_, size));
  return CreateObjectFile(PathOf(sha256));
}

Expected<void> ObjectStore::Commit(std::string_view sha256, AtomicFile staged) const {
  if (Has(sha256)) return {};  // `staged` goes
  return staged.Commit();
}

Expected<void> ObjectStore::Remove(std::string_view sha256) {
  if (!IsLowerHexSha256(sha256)) return Fail(Errc::kInvalidArgument, "not an object sha256");
  std::error_code ec;
  std::filesystem::remove(PathOf(sha256), ec);
  if (ec) return Fail(Errc::kIo, "removing object " + std::string(sha256) + ": " + ec.message());
  return {};
}

}  // namespace uh::server
