#include "server/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::server {
namespace {

namespace fs = std::filesystem;

// Objects the database refers to, read from the backup's own copy of it.
constexpr std::string_view kReferencedObjectsSql =
    "SELECT sha256, MAX(size) FROM package_objects GROUP BY sha256 ORDER BY sha256";

// The store named by the server's database URL: a SQLite file, or PostgreSQL (empty path).
Expected<fs::path> SqlitePathOf(const std::string& url) {
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return fs::path();
  for (const std::string_view scheme : {"sqlite://", "sqlite:"}) {
    if (url.starts_with(scheme)) return fs::path(url.substr(scheme.size()));
  }
  if (url.find("://") != std::string::npos) {
    return Fail(Errc::kInvalidArgument, "unsupported store URL \"" + url + "\"");
  }
  return fs::path(url);
}

bool IsWithin(const fs::path& path, const fs::path& dir) {
  const auto [mismatch, rest] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return mismatch == dir.end() || (mismatch->empty() && std::next(mismatch) == dir.end());
}

// DEST as an absolute path without a trailing '/', after checking that a backup may go there:
// not inside the data (or objects) directory, and new or an empty directory.
Expected<fs::path> CheckDestination(const std::vector<fs::path>& sources, const fs::path& dest) {
  std::error_code ec;
  fs::path target = fs::absolute(dest, ec).lexically_normal();
  if (ec) {
    return Fail(Errc::kInvalidArgument,
                "backup destination " + dest.string() + ": " + ec.message());
  }
  if (!target.has_filename()) target = target.parent_path();
  const fs::path resolved = fs::weakly_canonical(target, ec);
  if (ec) return Fail(Errc::kIo, "resolving " + target.string() + ": " + ec.message());
  for (const fs::path& source : sources) {
    const fs::path real = fs::weakly_canonical(fs::absolute(source), ec);
    if (ec) return Fail(Errc::kIo, "resolving " + source.string() + ": " + ec.message());
    if (IsWithin(resolved, real)) {
      return Fail(Errc::kInvalidArgument, "the backup destination " + dest.string() +
                                              " is inside " + source.string() +
                                              ", which it backs up: put it elsewhere, ideally "
                                              "on another disk");
    }
  }
  const auto status = fs::symlink_status(target, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status) || !fs::is_empty(target, ec)) {
      return Fail(Errc::kAlreadyExists, "the backup destination " + dest.string() +
                                            " exists and is not an empty directory: give a "
                                            "new or empty directory");
    }
  }
  if (!fs::is_directory(target.parent_path(), ec)) {
    return Fail(Errc::kNotFound, "the backup destination's parent " +
                                     target.parent_path().string() + " is not a directory");
  }
  return target;
}

// The hidden directory a backup is built in, removed unless Keep() is called.
class WorkDir {
 public:
  static Expected<WorkDir> Create(const fs::path& dest) {
    std::string name = (dest.parent_path() / ("." + dest.filename().string() + ".partial-XXXXXX"));
    if (::mkdtemp(name.data()) == nullptr) {
      return FailErrno("creating a directory beside " + dest.string() + " (" + name + ")");
    }
    return WorkDir(name);  // 0700, from mkdtemp
  }
  WorkDir(WorkDir&& other) noexcept : path_(std::exchange(other.path_, fs::path())) {}
  WorkDir& operator=(WorkDir&&) = delete;
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }
  void Keep() { path_.clear(); }

 private:
  explicit WorkDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

Expected<void> SyncPath(const fs::path& path) {
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd() < 0) return FailErrno("open " + path.string());
  return file.Sync();
}

Expected<void> MakePrivateDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return FailErrno("mkdir " + dir.string());
  return {};
}

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;

Expected<Db> OpenDb(const fs::path& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw, &sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return Fail(Errc::kIo, "sqlite: opening " + path.string() + ": " +
                               (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 10'000);
  return db;
}

// One read transaction on the live database copied page by page into `target`: a snapshot as
// of one commit, taken without stopping the server's writes (WAL).
Expected<void> SnapshotDatabase(const fs::path& source, const fs::path& target) {
  if (!fs::is_regular_file(source)) {
    return Fail(Errc::kNotFound,
                "no database at " + source.string() + ": is this the data directory of a server?");
  }
  UH_TRY(File::CreateNew(target, 0600));  // SQLite keeps the mode of an existing file
  auto from = OpenDb(source);
  if (!from) return std::unexpected(from.error());
  // Read-write so that the last connection to close may clean up the WAL, but it writes nothing.
  if (sqlite3_exec(from->get(), "PRAGMA query_only=ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(Errc::kIo, "sqlite: " + std::string(sqlite3_errmsg(from->get())));
  }
  auto to = OpenDb(target);
  if (!to) return std::unexpected(to.error());
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < 50 && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sqlite3_backup* backup = sqlite3_backup_init(to->get(), "main", from->get(), "main");
    if (backup == nullptr) break;
    rc = sqlite3_backup_step(backup, -1);  // all pages in one step: one snapshot
    sqlite3_backup_finish(backup);
  }
  if (rc != SQLITE_DONE) {
    return Fail(Errc::kIo, "sqlite: copying " + source.string() + ": " + sqlite3_errmsg(to->get()));
  }
  to->reset();
  return SyncPath(target);
}

// Each object of the data directory not in the backup yet: a hard link when both are on one
// file system, else a copy, hashed either way. An object deleted meanwhile is skipped (the
// database check decides whether it was needed); one that does not match its name stops it.
class ObjectCopier {
 public:
  ObjectCopier(fs::path from, fs::path to) : from_(std::move(from)), to_(std::move(to)) {}

  Expected<void> CopyNew(BackupSummary& summary) {
    UH_TRY(MakePrivateDir(to_));
    std::error_code ec;
    if (!fs::exists(from_, ec)) return {};  // no package was ever uploaded
    for (const auto& prefix : fs::directory_iterator(from_, ec)) {
      if (!prefix.is_directory(ec)) continue;
      const std::string name = prefix.path().filename().string();
      std::vector<std::string> objects;
      for (const auto& entry : fs::directory_iterator(prefix.path(), ec)) {
        const std::string object = entry.path().filename().string();
        // Anything else here is an import's temporary file.
        if (IsLowerHexSha256(object) && object.starts_with(name)) objects.push_back(object);
      }
      if (objects.empty()) continue;
      UH_TRY(MakePrivateDir(to_ / name));
      for (const auto& object : objects) {
        if (fs::exists(to_ / name / object)) continue;
        UH_TRY_CTX(CopyObject(object, summary), "object " + object);
      }
      UH_TRY(SyncPath(to_ / name));
    }
    if (ec) return Fail(Errc::kIo, "reading " + from_.string() + ": " + ec.message());
    return SyncPath(to_);
  }

 private:
  Expected<void> CopyObject(const std::string& sha256, BackupSummary& summary) {
    const fs::path source = from_ / sha256.substr(0, 2) / sha256;
    const fs::path target = to_ / sha256.substr(0, 2) / sha256;
    bool linked = false;
    Expected<FileDigest> digest = FileDigest{};
    if (!cross_device_ && ::link(source.c_str(), target.c_str()) == 0) {
      linked = true;
      if (::chmod(target.c_str(), 0600) != 0) return FailErrno("chmod " + target.string());
      digest = Sha256File(target);
    } else if (!cross_device_ && errno == ENOENT) {
      return {};  // deleted since it was listed
    } else {
      // Another file system (EXDEV), or links refused (EPERM: protected_hardlinks, EMLINK).
      if (!cross_device_ && errno != EXDEV && errno != EPERM && errno != EMLINK) {
        return FailErrno("link " + target.string());
      }
      cross_device_ = true;
      auto file = File::OpenRead(source);
      if (!file && file.error().code() == Errc::kNotFound) return {};
      if (!file) return std::unexpected(file.error());
      digest = CopyHashed(*file, target);
    }
    if (!digest) return std::unexpected(digest.error());
    if (digest->sha256 != sha256) {
      return Fail(Errc::kIntegrity, "the data directory's copy " + source.string() +
                                        " does not match its sha256 (it is damaged)");
    }
    ++summary.objects;
    summary.object_bytes += digest->size;
    if (linked) ++summary.linked;
    return {};
  }

  static Expected<FileDigest> CopyHashed(File& in, const fs::path& target) {
    auto out = File::CreateNew(target, 0600);
    if (!out) return std::unexpected(out.error());
    Sha256 hash;
    FileDigest digest;
    std::vector<std::byte> buffer(kIoBufferSize);
    while (true) {
      auto n = in.Read(buffer);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
      const std::span<const std::byte> chunk(buffer.data(), *n);
      hash.Update(chunk);
      UH_TRY_CTX(out->WriteAll(chunk), "writing " + target.string());
      digest.size += *n;
    }
    UH_TRY(out->Sync());
    UH_TRY(out->Close());
    digest.sha256 = hash.HexDigest();
    return digest;
  }

  fs::path from_;
  fs::path to_;
  bool cross_device_ = false;
};

// Every object the backed-up database refers to is in the backup, with its size.
Expected<void> CheckReferencedObjects(const fs::path& database, const fs::path& objects) {
  auto db = OpenDb(database);
  if (!db) return std::unexpected(db.error());
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db->get(), kReferencedObjectsSql.data(),
                         static_cast<int>(kReferencedObjectsSql.size()), &raw,
                         nullptr) != SQLITE_OK) {
    return Fail(Errc::kIo, "sqlite: " + std::string(sqlite3_errmsg(db->get())));
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> query(raw, &sqlite3_finalize);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(raw, 0);
    const std::string sha256 = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    const auto size = static_cast<std::uintmax_t>(sqlite3_column_int64(raw, 1));
    std::error_code ec;
    const auto found = fs::file_size(objects / sha256.substr(0, 2) / sha256, ec);
    if (ec) {
      return Fail(Errc::kNotFound, "object " + sha256 +
                                       ", which a package in the database needs, is missing (a "
                                       "package deleted while the backup ran?): run it again");
    }
    if (found != size) {
      return Fail(Errc::kIntegrity, "object " + sha256 + " has " + std::to_string(found) +
                                        " bytes, the database says " + std::to_string(size));
    }
  }
  if (rc != SQLITE_DONE)
    return Fail(Errc::kIo, "sqlite: " + std::string(sqlite3_errmsg(db->get())));
  return {};
}

}  // namespace

Expected<BackupSummary> Backup(const ServerConfig& config, const fs::path& dest) {
  const fs::path& data_dir = config.data_dir;
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) {
    return Fail(Errc::kNotFound, "the data directory " + data_dir.string() + " does not exist");
  }
  auto database = SqlitePathOf(config.DatabaseUrl());
  if (!database) return std::unexpected(database.error());
  const fs::path objects_dir = config.ObjectsDir();
  auto target = CheckDestination({data_dir, objects_dir}, dest);
  if (!target) return std::unexpected(target.error());
  auto work = WorkDir::Create(*target);
  if (!work) return std::unexpected(work.error());

  BackupSummary summary;
  ObjectCopier objects(objects_dir, work->path() / "objects");
  // Objects first, so that those of a package deleted during the snapshot are already kept;
  // then the database; then the objects uploaded meanwhile.
  UH_TRY_CTX(objects.CopyNew(summary), "backing up the objects");
  if (!database->empty()) {
    const fs::path copy = work->path() / "updatehub.db";
    UH_TRY_CTX(SnapshotDatabase(*database, copy), "backing up the database");
    summary.database = true;
    UH_TRY_CTX(objects.CopyNew(summary), "backing up the objects");
    UH_TRY_CTX(CheckReferencedObjects(copy, work->path() / "objects"), "checking the backup");
  }
  UH_TRY(SyncPath(work->path()));
  if (::rename(work->path().c_str(), target->c_str()) != 0) {
    return FailErrno("renaming " + work->path().string() + " to " + target->string());
  }
  work->Keep();
  UH_TRY(SyncPath(target->parent_path()));
  return summary;
}

}  // namespace uh::server
