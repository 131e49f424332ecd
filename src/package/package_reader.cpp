#include "package/package_reader.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/fs.hpp"
#include "package/archive_util.hpp"

namespace uh::package {
namespace {

using detail::ArchiveError;

Expected<void> CheckMemberName(std::string_view name) {
  if (name == kMetadataMember || name == kSignatureMember || IsLowerHexSha256(name)) return {};
  std::string shown(name.substr(0, 100));
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos ||
      name.find("..") != std::string_view::npos) {
    return Fail(Errc::kMalformed, "member name '" + shown + "' contains a path ('/' or '..')");
  }
  return Fail(Errc::kMalformed, "unexpected member '" + shown +
                                    "' (members are metadata, signature and object sha256s)");
}

}  // namespace

Expected<void> PackageReader::Scan(
    const Visitor& visit,
    const std::function<Expected<void>(const Member&, std::span<const std::byte>)>& data) const {
  detail::ArchiveReadPtr reader(archive_read_new());
  archive* a = reader.get();
  archive_read_support_format_zip_seekable(a);
  if (archive_read_open_filename(a, path_.c_str(), kIoBufferSize) != ARCHIVE_OK) {
    if (archive_errno(a) == ENOENT) return Fail(Errc::kNotFound, "no such file");
    return Fail(Errc::kMalformed, "not a valid package (ZIP) file: " + ArchiveError(a));
  }
  std::size_t count = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return Fail(Errc::kMalformed, "reading ZIP entry: " + ArchiveError(a));
    if (++count > limits_.max_members) {
      return Fail(Errc::kMalformed,
                  "more than " + std::to_string(limits_.max_members) + " members in the package");
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) return Fail(Errc::kMalformed, "a member has no readable name");
    Member member{name, 0};
    UH_TRY(CheckMemberName(member.name));
    if (archive_entry_filetype(entry) != AE_IFREG) {
      return Fail(Errc::kMalformed, "member '" + member.name + "' is not a regular file");
    }
    if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
      return Fail(Errc::kMalformed, "member '" + member.name + "' has no size");
    }
    member.size = static_cast<std::uint64_t>(archive_entry_size(entry));
    auto wanted = visit(member);
    if (!wanted) return std::unexpected(wanted.error());
    if (!*wanted) continue;  // libarchive skips unread data by seeking
    std::uint64_t read = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      const int rd = archive_read_data_block(a, &block, &size, &offset);
      if (rd == ARCHIVE_EOF) break;
      if (rd != ARCHIVE_OK) {
        return Fail(Errc::kMalformed, "member '" + member.name + "': " + ArchiveError(a));
      }
      read += size;
      if (read > member.size) {
        return Fail(Errc::kMalformed, "member '" + member.name + "' is longer than its ZIP size");
      }
      UH_TRY(data(member, std::span(static_cast<const std::byte*>(block), size)));
    }
    if (read != member.size) {
      return Fail(Errc::kMalformed, "member '" + member.name + "' is truncated");
    }
  }
  return {};
}

Expected<PackageReader> PackageReader::Open(const std::filesystem::path& path,
                                            ReaderLimits limits) {
  PackageReader pkg;
  pkg.path_ = path;
  pkg.limits_ = limits;
  std::set<std::string> seen;
  bool has_metadata = false;
  bool has_signature = false;
  auto visit = [&](const Member& member) -> Expected<bool> {
    if (!seen.insert(member.name).second) {
      return Fail(Errc::kMalformed, "member '" + member.name + "' appears twice");
    }
    pkg.members_.push_back(member);
    if (member.name == kMetadataMember) {
      has_metadata = true;
      if (member.size > limits.max_metadata_bytes) {
        return Fail(Errc::kTooLarge, "metadata is larger than " +
                                         std::to_string(limits.max_metadata_bytes) + " bytes");
      }
      return true;
    }
    if (member.name == kSignatureMember) {
      has_signature = true;
      if (member.size > limits.max_signature_bytes) {
        return Fail(Errc::kMalformed, "signature member is larger than " +
                                          std::to_string(limits.max_signature_bytes) + " bytes");
      }
      return true;
    }
    return false;
  };
  auto data = [&](const Member& member, std::span<const std::byte> bytes) -> Expected<void> {
    auto& target = member.name == kMetadataMember ? pkg.metadata_bytes_ : pkg.signature_;
    target.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return {};
  };
  if (auto scanned = pkg.Scan(visit, data); !scanned) {
    return std::unexpected(scanned.error().WithContext(path.string()));
  }
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) return Fail(Errc::kIo, path.string() + ": " + ec.message());
  if (!has_metadata) return Fail(Errc::kMalformed, path.string() + ": no 'metadata' member");
  if (!has_signature) return Fail(Errc::kMalformed, path.string() + ": no 'signature' member");
  return FromMembers(path, std::move(pkg.members_), std::move(pkg.metadata_bytes_),
                     std::move(pkg.signature_), file_size, limits);
}

Expected<PackageReader> PackageReader::FromMembers(const std::filesystem::path& path,
                                                   std::vector<Member> members,
                                                   std::string metadata_bytes,
                                                   std::string signature, std::uint64_t file_size,
                                                   ReaderLimits limits) {
  PackageReader pkg;
  pkg.path_ = path;
  pkg.limits_ = limits;
  pkg.members_ = std::move(members);
  pkg.metadata_bytes_ = std::move(metadata_bytes);
  pkg.signature_ = std::move(signature);
  std::set<std::string> seen;
  for (const Member& member : pkg.members_) seen.insert(member.name);
  auto fail = [&](Errc code, const std::string& message) {
    return Fail(code, path.string() + ": " + message);
  };
  if (!seen.contains(std::string(kMetadataMember))) {
    return fail(Errc::kMalformed, "no 'metadata' member");
  }
  if (!seen.contains(std::string(kSignatureMember))) {
    return fail(Errc::kMalformed, "no 'signature' member");
  }
  while (pkg.signature_.ends_with('\n') || pkg.signature_.ends_with('\r')) {
    pkg.signature_.pop_back();
  }

  auto metadata = ParseMetadata(pkg.metadata_bytes_);
  if (!metadata) return std::unexpected(metadata.error().WithContext(path.string() + ": metadata"));
  pkg.metadata_ = std::move(*metadata);
  pkg.uid_ = Sha256Hex(pkg.metadata_bytes_);

  std::map<std::string, std::uint64_t> expected;
  for (const Object* object : pkg.metadata_.DistinctObjects()) {
    expected.emplace(object->sha256sum, object->size);
  }
  for (const Member& member : pkg.members_) {
    if (member.name == kMetadataMember || member.name == kSignatureMember) continue;
    auto it = expected.find(member.name);
    if (it == expected.end()) {
      return fail(Errc::kMalformed,
                  "member '" + member.name + "' is not an object of the metadata");
    }
    if (it->second != member.size) {
      return fail(Errc::kIntegrity, "object " + member.name + " is " + std::to_string(member.size) +
                                        " bytes but the metadata says " +
                                        std::to_string(it->second));
    }
  }
  for (const auto& [sha256, size] : expected) {
    if (!seen.contains(sha256)) return fail(Errc::kMalformed, "object " + sha256 + " is missing");
  }
  // Members cannot hold more bytes than the file: a ZIP that declares otherwise lies (and sizes
  // that add up past 2^64 must not wrap around into a small total).
  std::uint64_t declared = 0;
  for (const Member& member : pkg.members_) {
    if (member.size > file_size - std::min(declared, file_size)) {
      return fail(Errc::kMalformed, "member '" + member.name + "' declares more bytes (" +
                                        std::to_string(member.size) + ") than the file holds");
    }
    declared += member.size;
  }
  return pkg;
}

std::uint64_t PackageReader::objects_size() const {
  std::uint64_t total = 0;
  for (const Object* object : metadata_.DistinctObjects()) total += object->size;
  return total;
}

Expected<void> PackageReader::VerifySignature(const PublicKey& key) const {
  return key.VerifyBase64(metadata_bytes_, signature_);
}

Expected<void> PackageReader::CheckObjects(const ProgressFn& progress) const {
  std::map<std::string, Sha256> hashes;
  std::uint64_t done = 0;
  auto visit = [&](const Member& member) -> Expected<bool> {
    if (!IsLowerHexSha256(member.name)) return false;
    hashes.emplace(member.name, Sha256());
    return true;
  };
  auto data = [&](const Member& member, std::span<const std::byte> bytes) -> Expected<void> {
    hashes.at(member.name).Update(bytes);
    done += bytes.size();
    if (progress) progress(done);
    return {};
  };
  UH_TRY_CTX(Scan(visit, data), path_.string());
  // The file may have changed since Open: every object must still be there.
  for (const Object* object : metadata_.DistinctObjects()) {
    if (!hashes.contains(object->sha256sum)) {
      return Fail(Errc::kMalformed,
                  path_.string() + ": object " + object->sha256sum + " is missing");
    }
  }
  for (auto& [name, hash] : hashes) {
    if (hash.HexDigest() != name) {
      return Fail(Errc::kIntegrity,
                  path_.string() + ": object " + name + " does not match its sha256");
    }
  }
  return {};
}

Expected<void> PackageReader::ReadObject(std::string_view sha256, const ByteSink& sink,
                                         const ProgressFn& progress) const {
  if (!IsLowerHexSha256(sha256)) return Fail(Errc::kInvalidArgument, "not an object sha256");
  Sha256 hash;
  bool found = false;
  std::uint64_t done = 0;
  auto visit = [&](const Member& member) -> Expected<bool> {
    const bool match = member.name == sha256;
    found = found || match;
    return match;
  };
  auto data = [&](const Member&, std::span<const std::byte> bytes) -> Expected<void> {
    hash.Update(bytes);
    UH_TRY(sink(bytes));
    done += bytes.size();
    if (progress) progress(done);
    return {};
  };
  UH_TRY_CTX(Scan(visit, data), path_.string());
  if (!found)
    return Fail(Errc::kNotFound, "object " + std::string(sha256) + " is not in the package");
  if (hash.HexDigest() != sha256) {
    return Fail(Errc::kIntegrity, "object " + std::string(sha256) + " does not match its sha256");
  }
  return {};
}

}  // namespace uh::package
