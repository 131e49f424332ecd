#include "package/package_writer.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "package/archive_util.hpp"

namespace uh::package {
namespace {

// Reproducible packages: the member time is SOURCE_DATE_EPOCH when set.
std::time_t MemberTime() {
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0') {
    char* end = nullptr;
    const long long value = std::strtoll(epoch, &end, 10);
    if (end != nullptr && *end == '\0' && value >= 0) return static_cast<std::time_t>(value);
  }
  return std::time(nullptr);
}

}  // namespace

struct PackageWriter::State {
  AtomicFile out;
  detail::ArchiveWritePtr zip;
  std::time_t mtime = 0;
  std::string current;  // name of the member being written, for errors

  Expected<void> Header(std::string_view name, std::uint64_t size) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), std::string(name).c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), mtime, 0);
    if (archive_write_header(zip.get(), entry.get()) != ARCHIVE_OK) {
      return Fail(Errc::kIo,
                  "writing member " + std::string(name) + ": " + detail::ArchiveError(zip.get()));
    }
    return {};
  }

  Expected<void> Data(std::string_view name, const void* data, std::size_t size) {
    if (archive_write_data(zip.get(), data, size) != static_cast<la_ssize_t>(size)) {
      return Fail(Errc::kIo,
                  "writing member " + std::string(name) + ": " + detail::ArchiveError(zip.get()));
    }
    return {};
  }
};

PackageWriter::PackageWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
PackageWriter::PackageWriter(PackageWriter&&) noexcept = default;
PackageWriter& PackageWriter::operator=(PackageWriter&&) noexcept = default;
PackageWriter::~PackageWriter() = default;

Expected<PackageWriter> PackageWriter::Create(const std::filesystem::path& destination) {
  auto out = AtomicFile::Create(destination);
  if (!out) return std::unexpected(out.error());
  auto state = std::make_unique<State>(State{std::move(*out), {}, MemberTime(), {}});
  state->zip.reset(archive_write_new());
  archive* a = state->zip.get();
  if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
      archive_write_set_options(a, "zip:compression=store") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
      archive_write_open_fd(a, state->out.file().fd()) != ARCHIVE_OK) {
    return Fail(Errc::kInternal, "setting up the ZIP writer: " + detail::ArchiveError(a));
  }
  return PackageWriter(std::move(state));
}

Expected<void> PackageWriter::AddMember(std::string_view name, std::string_view data) {
  UH_TRY(state_->Header(name, data.size()));
  if (!data.empty()) UH_TRY(state_->Data(name, data.data(), data.size()));
  return {};
}

Expected<void> PackageWriter::BeginMember(std::string_view name, std::uint64_t size) {
  state_->current = name;
  return state_->Header(name, size);
}

Expected<void> PackageWriter::WriteData(std::span<const std::byte> data) {
  return state_->Data(state_->current, data.data(), data.size());
}

Expected<void> PackageWriter::AddFileMember(std::string_view name,
                                            const std::filesystem::path& source, std::uint64_t size,
                                            const ProgressFn& progress) {
  auto file = File::OpenRead(source);
  if (!file) return std::unexpected(file.error());
  UH_TRY(state_->Header(name, size));
  std::vector<std::byte> buffer(kIoBufferSize);
  std::uint64_t done = 0;
  for (;;) {
    auto n = file->Read(buffer);
    if (!n) return std::unexpected(n.error().WithContext(source.string()));
    if (*n == 0) break;
    if (done + *n > size) break;
    UH_TRY(state_->Data(name, buffer.data(), *n));
    done += *n;
    if (progress) progress(done);
  }
  if (done != size) {
    return Fail(Errc::kIntegrity, source.string() + " changed while the package was written");
  }
  return {};
}

Expected<void> PackageWriter::Finish() {
  archive* a = state_->zip.get();
  if (archive_write_close(a) != ARCHIVE_OK) {
    return Fail(Errc::kIo, "finishing the ZIP: " + detail::ArchiveError(a));
  }
  return state_->out.Commit();
}

}  // namespace uh::package
