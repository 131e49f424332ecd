#include "agent/install/install_test_support.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "package/package_reader.hpp"

namespace uh::agent::testing {
namespace {

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

int FilterCode(Filter filter) {
  switch (filter) {
    case Filter::kGzip:
      return ARCHIVE_FILTER_GZIP;
    case Filter::kXz:
      return ARCHIVE_FILTER_XZ;
    case Filter::kZstd:
      return ARCHIVE_FILTER_ZSTD;
    case Filter::kLzma:
      return ARCHIVE_FILTER_LZMA;
    case Filter::kBzip2:
      return ARCHIVE_FILTER_BZIP2;
    case Filter::kLz4:
      return ARCHIVE_FILTER_LZ4;
  }
  return ARCHIVE_FILTER_NONE;
}

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

FakeTools::FakeTools(const std::filesystem::path& dir)
    : bin_(dir / "bin"), log_(dir / "calls.log") {
  std::filesystem::create_directories(bin_);
}

void FakeTools::Add(const std::string& name, const std::string& body, int exit_code) const {
  const auto script = bin_ / name;
  std::ostringstream text;
  text << "#!/bin/sh\n"
       << "{ printf '%s' \"${0##*/}\"; for a in \"$@\"; do printf ' %s' \"$a\"; done; "
          "printf '\\n'; } >> "
       << ShellQuote(log_.string()) << "\n"
       << body << "\n"
       << "exit " << exit_code << "\n";
  uh::testing::WriteFile(script, text.str());
  std::filesystem::permissions(script, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_read |
                                           std::filesystem::perms::group_exec);
}

void FakeTools::AddMountEmulation(const std::filesystem::path& filesystem) const {
  Add("mount", "for a in \"$@\"; do mp=$a; done\n/bin/rmdir \"$mp\" && /bin/ln -s " +
                   ShellQuote(filesystem.string()) + " \"$mp\"");
  Add("umount", "for a in \"$@\"; do mp=$a; done\n/bin/rm \"$mp\" && /bin/mkdir \"$mp\"");
}

std::vector<std::string> FakeTools::Calls() const {
  std::vector<std::string> calls;
  std::ifstream in(log_);
  for (std::string line; std::getline(in, line);) calls.push_back(line);
  return calls;
}

Device::Device(const std::filesystem::path& dir) : root(dir / "root"), tools(dir) {
  std::filesystem::create_directories(root);
  ctx.target_root = root;
  ctx.work_dir = dir / "work";
  ctx.tool_path = tools.path();
}

std::filesystem::path Device::AddFile(std::string_view device_path,
                                      std::string_view content) const {
  const auto path = root / std::filesystem::path(device_path).relative_path();
  std::filesystem::create_directories(path.parent_path());
  uh::testing::WriteFile(path, content);
  return path;
}

std::filesystem::path Device::AddDir(std::string_view device_path) const {
  const auto path = root / std::filesystem::path(device_path).relative_path();
  std::filesystem::create_directories(path);
  return path;
}

std::string Compress(std::string_view data, Filter filter) {
  // The buffer outlives the writer (see MakeTar).
  std::string out(data.size() + 1024 * 1024, '\0');
  std::size_t used = 0;
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  if (archive_write_add_filter(a.get(), FilterCode(filter)) != ARCHIVE_OK ||
      archive_write_set_format_raw(a.get()) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a.get()));
  }
  archive_write_open_memory(a.get(), out.data(), out.size(), &used);
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), "data");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  archive_write_header(a.get(), entry.get());
  if (!data.empty()) archive_write_data(a.get(), data.data(), data.size());
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a.get()));
  }
  out.resize(used);
  return out;
}

std::string Decompress(std::string_view data) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_read_open_memory(a.get(), data.data(), data.size());
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    throw std::runtime_error("cannot decompress");
  }
  std::string out;
  char buffer[65536];
  for (;;) {
    const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof buffer);
    if (n < 0) throw std::runtime_error(archive_error_string(a.get()));
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string MakeTar(const std::vector<TarEntry>& entries, bool gzip, int format) {
  // The buffer outlives the writer: freeing a writer that was not closed (after a throw) writes.
  std::size_t total = 1024 * 1024;
  for (const auto& e : entries) total += e.content.size() + 4096;
  std::string out(total, '\0');
  std::size_t used = 0;
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  if (archive_write_set_format(a.get(), format != 0 ? format : ARCHIVE_FORMAT_TAR_PAX_RESTRICTED) !=
      ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a.get()));
  }
  if (gzip) archive_write_add_filter_gzip(a.get());
  archive_write_open_memory(a.get(), out.data(), out.size(), &used);
  for (const auto& e : entries) {
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_perm(entry.get(), e.mode);
    archive_entry_set_uid(entry.get(), ::getuid());
    archive_entry_set_gid(entry.get(), ::getgid());
    switch (e.type) {
      case TarEntry::Type::kFile:
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.content.size()));
        break;
      case TarEntry::Type::kDir:
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        archive_entry_set_size(entry.get(), 0);
        break;
      case TarEntry::Type::kSymlink:
        archive_entry_set_filetype(entry.get(), AE_IFLNK);
        archive_entry_set_symlink(entry.get(), e.content.c_str());
        break;
      case TarEntry::Type::kHardlink:
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_hardlink(entry.get(), e.content.c_str());
        break;
    }
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      throw std::runtime_error(archive_error_string(a.get()));
    }
    if (e.type == TarEntry::Type::kFile && !e.content.empty()) {
      archive_write_data(a.get(), e.content.data(), e.content.size());
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a.get()));
  }
  out.resize(used);
  return out;
}

PackageObject LoadPackageObject(const std::filesystem::path& package, const std::string& filename,
                                const std::filesystem::path& dir, std::size_t set) {
  auto reader = package::PackageReader::Open(package);
  if (!reader) throw std::runtime_error(reader.error().message());
  const auto& sets = reader->metadata().sets;
  if (set >= sets.size()) throw std::runtime_error("no such installation set");
  for (const auto& object : sets[set]) {
    if (object.filename != filename) continue;
    const auto path = dir / object.sha256sum;
    std::ofstream out(path, std::ios::binary);
    auto read = reader->ReadObject(object.sha256sum, [&](std::span<const std::byte> data) {
      out.write(reinterpret_cast<const char*>(data.data()),
                static_cast<std::streamsize>(data.size()));
      return Expected<void>{};
    });
    if (!read) throw std::runtime_error(read.error().message());
    return {object, path};
  }
  throw std::runtime_error(filename + " not in " + package.string());
}

PackageObject LoadTestObject(const std::string& package, const std::string& filename,
                             const std::filesystem::path& dir, std::size_t set) {
  return LoadPackageObject(uh::testing::TestPackagesDir() / package, filename, dir, set);
}

std::filesystem::path WriteObject(const std::filesystem::path& dir, std::string_view data) {
  const auto path = dir / "object.bin";
  uh::testing::WriteFile(path, data);
  return path;
}

}  // namespace uh::agent::testing
