#include "package/package_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/hash.hpp"
#include "core/json.hpp"
#include "package/metadata.hpp"
#include "package/package_writer.hpp"
#include "package/signature.hpp"
#include "support/test_support.hpp"

namespace uh::package {
namespace {

using ::testing::HasSubstr;
using uh::testing::RandomBytes;
using uh::testing::ReadFile;
using uh::testing::TempDir;
using uh::testing::TestPackagesDir;
using uh::testing::TestPackageUid;
using uh::testing::WriteFile;

constexpr std::string_view kReaderProduct =
    "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";

// Checks that `result` failed with `code` and a message containing `text`.
template <typename T>
void ExpectError(const Expected<T>& result, Errc code, std::string_view text) {
  ASSERT_FALSE(result.has_value()) << "succeeded; expected a " << ErrcName(code) << " error";
  EXPECT_EQ(ErrcName(result.error().code()), ErrcName(code)) << result.error().message();
  EXPECT_THAT(result.error().message(), HasSubstr(std::string(text)));
}

#define EXPECT_UH_ERROR(result, code, text) \
  do {                                      \
    SCOPED_TRACE(#result);                  \
    ExpectError((result), (code), (text));  \
  } while (false)

// The signing key of the packages built here: RSA generation is slow, so one for all tests.
const PrivateKey& TestKey() {
  static const PrivateKey key = [] {
    auto generated = PrivateKey::Generate(2048);
    if (!generated) throw std::runtime_error(generated.error().message());
    return *generated;
  }();
  return key;
}

PublicKey TestPublicKey() { return *PublicKey::FromPem(TestKey().PublicPem()); }

std::string Sign(std::string_view metadata) { return *TestKey().SignBase64(metadata); }

ByteSink AppendTo(std::string& out) {
  return [&out](std::span<const std::byte> bytes) -> Expected<void> {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return {};
  };
}

Expected<std::string> ReadObjectBytes(const PackageReader& pkg, std::string_view sha256) {
  std::string out;
  if (auto read = pkg.ReadObject(sha256, AppendTo(out)); !read) {
    return std::unexpected(read.error());
  }
  return out;
}

nlohmann::json TestObject(std::string_view filename, std::uint64_t size, std::string_view sha256) {
  return {{"mode", "test"}, {"filename", filename}, {"size", size}, {"sha256sum", sha256}};
}

// The `objects` value of metadata with a single installation set.
nlohmann::json OneSet(std::vector<nlohmann::json> objects) {
  nlohmann::json sets = nlohmann::json::array();
  sets.push_back(nlohmann::json(std::move(objects)));
  return sets;
}

// A valid package, kept as its list of members so that a test can change exactly one thing
// before writing it: two installation sets of `test` objects (rootfs differs per slot, app is
// shared), so three distinct objects of random bytes.
class PackageBuilder {
 public:
  PackageBuilder()
      : rootfs_a_(RandomBytes(4096, 11)),
        rootfs_b_(RandomBytes(4096, 12)),
        app_(RandomBytes(1000, 13)) {
    metadata_json_ = {
        {"product", kReaderProduct},
        {"version", "1.0"},
        {"supported-hardware", {"board-a"}},
        {"objects",
         {{ObjectJson("rootfs.img", rootfs_a_), ObjectJson("app.bin", app_)},
          {ObjectJson("rootfs.img", rootfs_b_), ObjectJson("app.bin", app_)}}},
    };
    const std::string metadata = SerializeMetadata(*MetadataFromJson(metadata_json_));
    members_ = {{std::string(kSignatureMember), Sign(metadata)},
                {std::string(kMetadataMember), metadata},
                {Sha256Hex(rootfs_a_), rootfs_a_},
                {Sha256Hex(app_), app_},
                {Sha256Hex(rootfs_b_), rootfs_b_}};
  }

  [[nodiscard]] const std::string& rootfs_a() const { return rootfs_a_; }
  [[nodiscard]] const std::string& app() const { return app_; }
  [[nodiscard]] std::string rootfs_a_sha() const { return Sha256Hex(rootfs_a_); }
  // The metadata as a JSON value, for tests that edit one field (see SetMetadataJson).
  [[nodiscard]] const nlohmann::json& metadata_json() const { return metadata_json_; }
  [[nodiscard]] const std::string& metadata() const { return Member(kMetadataMember); }
  // (name, content) in archive order.
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& members() const {
    return members_;
  }

  // Content of the first member called `name`.
  [[nodiscard]] std::string& Member(std::string_view name) {
    auto it = std::find_if(members_.begin(), members_.end(),
                           [&](const auto& member) { return member.first == name; });
    if (it == members_.end()) throw std::logic_error("no member " + std::string(name));
    return it->second;
  }
  [[nodiscard]] const std::string& Member(std::string_view name) const {
    return const_cast<PackageBuilder*>(this)->Member(name);
  }
  void Remove(std::string_view name) {
    std::erase_if(members_, [&](const auto& member) { return member.first == name; });
  }
  void Add(std::string name, std::string data) {
    members_.emplace_back(std::move(name), std::move(data));
  }
  // Replaces the metadata bytes and signs them again, so that only the metadata changes.
  void SetMetadata(std::string bytes) {
    Member(kSignatureMember) = Sign(bytes);
    Member(kMetadataMember) = std::move(bytes);
  }
  // Serialises like uhu without validating, so that invalid metadata can be written too.
  void SetMetadataJson(const nlohmann::json& metadata) { SetMetadata(PythonJsonDumps(metadata)); }

  [[nodiscard]] std::filesystem::path Write(const TempDir& dir,
                                            std::string_view name = "pkg.uhupkg") const {
    const auto path = dir / name;
    auto writer = PackageWriter::Create(path);
    if (!writer) throw std::runtime_error(writer.error().message());
    for (const auto& [member, data] : members_) {
      if (auto added = writer->AddMember(member, data); !added) {
        throw std::runtime_error(added.error().message());
      }
    }
    if (auto finished = writer->Finish(); !finished) {
      throw std::runtime_error(finished.error().message());
    }
    return path;
  }

 private:
  static nlohmann::json ObjectJson(std::string_view filename, const std::string& data) {
    return TestObject(filename, data.size(), Sha256Hex(data));
  }

  std::string rootfs_a_;
  std::string rootfs_b_;
  std::string app_;
  nlohmann::json metadata_json_;
  std::vector<std::pair<std::string, std::string>> members_;
};

// A ZIP member written with libarchive directly, for what PackageWriter does not do.
struct ZipEntry {
  std::string name;
  std::string data;  // the link target of a symlink
  unsigned filetype = AE_IFREG;
};

enum class ZipMethod { kStore, kDeflate };

void WriteZip(const std::filesystem::path& path, const std::vector<ZipEntry>& entries,
              ZipMethod method) {
  std::unique_ptr<archive, decltype(&archive_write_free)> zip(archive_write_new(),
                                                              &archive_write_free);
  archive* a = zip.get();
  ASSERT_EQ(archive_write_set_format_zip(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_set_options(a, method == ZipMethod::kDeflate ? "zip:compression=deflate"
                                                                       : "zip:compression=store"),
            ARCHIVE_OK);
  ASSERT_EQ(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const ZipEntry& e : entries) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_filetype(entry.get(), e.filetype);
    archive_entry_set_perm(entry.get(), 0644);
    if (e.filetype == AE_IFLNK) {
      archive_entry_set_symlink(entry.get(), e.data.c_str());
    } else {
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.data.size()));
    }
    ASSERT_EQ(archive_write_header(a, entry.get()), ARCHIVE_OK) << archive_error_string(a);
    if (e.filetype == AE_IFREG && !e.data.empty()) {
      ASSERT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.data.size()));
    }
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
}

// A stored member of a ZIP built byte by byte: it may declare any size (zip64 fields) whatever
// data it holds, which neither PackageWriter nor libarchive will write.
struct RawMember {
  std::string name;
  std::string data;
  std::uint64_t declared_size = 0;
};

std::uint32_t Crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffff;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

void PutLe(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string RawZip(const std::vector<RawMember>& members) {
  std::string zip;
  std::string directory;
  for (const RawMember& m : members) {
    std::string extra;  // zip64: uncompressed and compressed sizes
    PutLe(extra, 0x0001, 2);
    PutLe(extra, 16, 2);
    PutLe(extra, m.declared_size, 8);
    PutLe(extra, m.declared_size, 8);
    auto common = [&](std::string& out) {  // from "version needed" to "extra length"
      PutLe(out, 45, 2);                   // version needed: zip64
      PutLe(out, 0, 2);                    // flags
      PutLe(out, 0, 2);                    // stored
      PutLe(out, 0, 2);                    // time
      PutLe(out, 0x21, 2);                 // date: 1980-01-01
      PutLe(out, Crc32(m.data), 4);
      PutLe(out, 0xffffffff, 4);  // sizes: in the zip64 extra field
      PutLe(out, 0xffffffff, 4);
      PutLe(out, m.name.size(), 2);
      PutLe(out, extra.size(), 2);
    };
    PutLe(directory, 0x02014b50, 4);
    PutLe(directory, 0x0300 | 45, 2);  // made by: Unix
    common(directory);
    PutLe(directory, 0, 2);  // comment length
    PutLe(directory, 0, 2);  // disk
    PutLe(directory, 0, 2);  // internal attributes
    PutLe(directory, std::uint64_t{0100644} << 16, 4);
    PutLe(directory, zip.size(), 4);
    directory += m.name + extra;

    PutLe(zip, 0x04034b50, 4);
    common(zip);
    zip += m.name + extra + m.data;
  }
  const std::size_t directory_offset = zip.size();
  zip += directory;
  PutLe(zip, 0x06054b50, 4);
  PutLe(zip, 0, 2);
  PutLe(zip, 0, 2);
  PutLe(zip, members.size(), 2);
  PutLe(zip, members.size(), 2);
  PutLe(zip, directory.size(), 4);
  PutLe(zip, directory_offset, 4);
  PutLe(zip, 0, 2);
  return zip;
}

// The members of `builder`, each declaring its true size.
std::vector<RawMember> RawMembers(const PackageBuilder& builder) {
  std::vector<RawMember> out;
  for (const auto& [name, data] : builder.members()) out.push_back({name, data, data.size()});
  return out;
}

std::uint32_t Le32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

void PutLe32(std::string& bytes, std::size_t at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Rewrites the uncompressed size that the central directory and the local header declare for
// member `name`, leaving its data (and CRC) alone.
void PatchUncompressedSize(std::string& zip, std::string_view name, std::uint32_t size) {
  ASSERT_GE(zip.size(), 22u);
  const std::size_t eocd = zip.size() - 22;  // no archive comment
  ASSERT_EQ(zip.compare(eocd, 4, "PK\x05\x06"), 0);
  std::size_t at = Le32(zip, eocd + 16);
  while (zip.compare(at, 4, "PK\x01\x02") == 0) {
    const std::size_t name_len = Le32(zip, at + 28) & 0xffff;
    const std::size_t extra_len = Le32(zip, at + 30) & 0xffff;
    const std::size_t comment_len = Le32(zip, at + 32) & 0xffff;
    if (name_len == name.size() && zip.compare(at + 46, name_len, name) == 0) {
      const std::size_t local = Le32(zip, at + 42);
      ASSERT_EQ(zip.compare(local, 4, "PK\x03\x04"), 0);
      for (const std::size_t field : {at + 24, local + 22}) {
        ASSERT_NE(Le32(zip, field), 0xffffffffu) << "zip64 sizes are not handled here";
        if (Le32(zip, field) != 0) PutLe32(zip, field, size);  // 0: size in a data descriptor
      }
      return;
    }
    at += 46 + name_len + extra_len + comment_len;
  }
  FAIL() << "member " << name << " not in the central directory";
}

// --- Conformance: packages made by upstream's uhu ---------------------------------------------

constexpr std::string_view kSignedUid =
    "3aa90e49ffe81f4d5c524f6e5037fd28771906515a0d8ec5e7e736b89dccabea";
constexpr std::string_view kCompressedUid =
    "e54f686bf83d9d500c4c0cb7b799af295227c6d87a3e04c58b91a560e2e736d0";

// Opens a uhu package, checks its metadata bytes, UID, objects and signature (with key.pub),
// and streams each object comparing it with the metadata.
void CheckConformance(const std::filesystem::path& dir, std::string_view file,
                      std::string_view metadata_file, std::string_view uid, bool is_signed) {
  auto pkg = PackageReader::Open(dir / file);
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->uid(), uid);
  EXPECT_EQ(pkg->metadata_bytes(), ReadFile(dir / metadata_file));
  EXPECT_EQ(pkg->is_signed(), is_signed);

  std::uint64_t progress = 0;
  auto checked = pkg->CheckObjects([&](std::uint64_t done) { progress = done; });
  ASSERT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_EQ(progress, pkg->objects_size());

  auto key = PublicKey::Load(dir / "key.pub");
  ASSERT_TRUE(key.has_value()) << key.error().message();
  if (is_signed) {
    auto verified = pkg->VerifySignature(*key);
    EXPECT_TRUE(verified.has_value()) << verified.error().message();
  } else {
    EXPECT_UH_ERROR(pkg->VerifySignature(*key), Errc::kSignature, "not signed");
  }

  for (const Object* object : pkg->metadata().DistinctObjects()) {
    SCOPED_TRACE(object->filename);
    Sha256 hash;
    std::uint64_t size = 0;
    auto read = pkg->ReadObject(object->sha256sum, [&](std::span<const std::byte> bytes) {
      hash.Update(bytes);
      size += bytes.size();
      return Expected<void>{};
    });
    ASSERT_TRUE(read.has_value()) << read.error().message();
    EXPECT_EQ(hash.HexDigest(), object->sha256sum);
    EXPECT_EQ(size, object->size);
  }
}

TEST(PackageReaderConformanceTest, SignedPackage) {
  UH_UPSTREAM_PACKAGES(dir);
  CheckConformance(dir, "signed.uhupkg", "signed.metadata.json", kSignedUid, true);
}

TEST(PackageReaderConformanceTest, CompressedObjectsPackage) {
  UH_UPSTREAM_PACKAGES(dir);
  CheckConformance(dir, "compressed.uhupkg", "compressed.metadata.json", kCompressedUid, true);
}

TEST(PackageReaderConformanceTest, UnsignedPackage) {
  UH_UPSTREAM_PACKAGES(dir);
  // Same metadata as signed.uhupkg, with an empty signature member.
  CheckConformance(dir, "unsigned.uhupkg", "signed.metadata.json", kSignedUid, false);
}

// The same checks on the packages this build makes with updatehub-pkg.
TEST(PackageReaderTestPackagesTest, SignedUnsignedAndCompressed) {
  const auto dir = TestPackagesDir();
  CheckConformance(dir, "signed.uhupkg", "signed.metadata.json", TestPackageUid("signed"), true);
  CheckConformance(dir, "compressed.uhupkg", "compressed.metadata.json",
                   TestPackageUid("compressed"), true);
  CheckConformance(dir, "unsigned.uhupkg", "signed.metadata.json", TestPackageUid("signed"), false);
}

// --- Valid packages ---------------------------------------------------------------------------

TEST(PackageReaderTest, ValidPackageRoundTrips) {
  TempDir dir;
  PackageBuilder builder;
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->metadata_bytes(), builder.metadata());
  EXPECT_EQ(pkg->uid(), Sha256Hex(builder.metadata()));
  EXPECT_EQ(pkg->signature(), builder.Member(kSignatureMember));
  EXPECT_EQ(pkg->metadata().sets.size(), 2u);
  EXPECT_EQ(pkg->members().size(), 5u);
  EXPECT_EQ(pkg->objects_size(), 4096u + 1000u + 4096u);

  auto checked = pkg->CheckObjects();
  EXPECT_TRUE(checked.has_value()) << checked.error().message();
  auto verified = pkg->VerifySignature(TestPublicKey());
  EXPECT_TRUE(verified.has_value()) << verified.error().message();

  std::uint64_t progress = 0;
  std::string app;
  auto read = pkg->ReadObject(Sha256Hex(builder.app()), AppendTo(app),
                              [&](std::uint64_t done) { progress = done; });
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(app, builder.app());
  EXPECT_EQ(progress, builder.app().size());
  EXPECT_EQ(ReadObjectBytes(*pkg, builder.rootfs_a_sha()).value_or(""), builder.rootfs_a());
}

TEST(PackageReaderTest, DeflatedMembersAreAccepted) {
  TempDir dir;
  PackageBuilder builder;
  std::vector<ZipEntry> entries;
  for (const auto& [name, data] : builder.members()) entries.push_back({name, data});
  ASSERT_NO_FATAL_FAILURE(WriteZip(dir / "deflated.uhupkg", entries, ZipMethod::kDeflate));
  auto pkg = PackageReader::Open(dir / "deflated.uhupkg");
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  auto checked = pkg->CheckObjects();
  EXPECT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
  EXPECT_EQ(ReadObjectBytes(*pkg, builder.rootfs_a_sha()).value_or(""), builder.rootfs_a());
}

TEST(PackageReaderTest, MemberOrderDoesNotMatter) {
  TempDir dir;
  PackageBuilder builder;
  std::vector<RawMember> members = RawMembers(builder);
  std::reverse(members.begin(), members.end());  // objects first, signature last
  WriteFile(dir / "reversed.uhupkg", RawZip(members));
  auto pkg = PackageReader::Open(dir / "reversed.uhupkg");
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_TRUE(pkg->CheckObjects().has_value());
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
}

TEST(PackageReaderTest, MetadataBytesAreKeptAsWritten) {
  // Not uhu's canonical form: the UID and the signature are over these exact bytes.
  TempDir dir;
  PackageBuilder builder;
  const std::string pretty = builder.metadata_json().dump(2) + "\n";
  builder.SetMetadata(pretty);
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->metadata_bytes(), pretty);
  EXPECT_EQ(pkg->uid(), Sha256Hex(pretty));
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
}

TEST(PackageReaderTest, EmptyObjectIsValid) {
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"] = OneSet({TestObject("empty.bin", 0, Sha256Hex(""))});
  builder.SetMetadataJson(metadata);
  for (const auto& [name, data] : std::vector(builder.members())) {
    if (IsLowerHexSha256(name)) builder.Remove(name);
  }
  builder.Add(Sha256Hex(""), "");
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->objects_size(), 0u);
  EXPECT_TRUE(pkg->CheckObjects().has_value());
  auto object = ReadObjectBytes(*pkg, Sha256Hex(""));
  ASSERT_TRUE(object.has_value()) << object.error().message();
  EXPECT_EQ(*object, "");
}

TEST(PackageReaderTest, SinkErrorStopsReadObject) {
  TempDir dir;
  PackageBuilder builder;
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  int calls = 0;
  auto read = pkg->ReadObject(builder.rootfs_a_sha(), [&](std::span<const std::byte>) {
    ++calls;
    return Expected<void>(Fail(Errc::kNoSpace, "disk full"));
  });
  EXPECT_UH_ERROR(read, Errc::kNoSpace, "disk full");
  EXPECT_EQ(calls, 1);
}

TEST(PackageReaderTest, Zip64HeadersAreAccepted) {
  // Sizes in zip64 extra fields, as ZIP tools write them for large objects.
  TempDir dir;
  PackageBuilder builder;
  WriteFile(dir / "zip64.uhupkg", RawZip(RawMembers(builder)));
  auto pkg = PackageReader::Open(dir / "zip64.uhupkg");
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  auto checked = pkg->CheckObjects();
  EXPECT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
  EXPECT_EQ(ReadObjectBytes(*pkg, builder.rootfs_a_sha()).value_or(""), builder.rootfs_a());
}

TEST(PackageReaderTest, CheckObjectsNoticesAnObjectGoneAfterOpen) {
  // The reader reopens its path for every pass. If the file changes after Open so that an
  // object member disappears, CheckObjects must not report every object as checked while
  // ReadObject then cannot find one.
  TempDir dir;
  PackageBuilder builder;
  const auto path = builder.Write(dir);
  auto pkg = PackageReader::Open(path);
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  PackageBuilder without_rootfs_a;
  without_rootfs_a.Remove(without_rootfs_a.rootfs_a_sha());
  WriteFile(path, ReadFile(without_rootfs_a.Write(dir, "other.uhupkg")));  // same inode

  auto checked = pkg->CheckObjects();
  if (!checked) {
    EXPECT_THAT(checked.error().message(), HasSubstr(builder.rootfs_a_sha()));
    return;
  }
  // Passing is only right if the object really is still readable through this reader.
  auto object = ReadObjectBytes(*pkg, builder.rootfs_a_sha());
  EXPECT_TRUE(object.has_value()) << "CheckObjects succeeded, then ReadObject failed: "
                                  << object.error().message();
}

TEST(PackageReaderTest, MetadataOfExactlyOneMebibyteIsAccepted) {
  TempDir dir;
  PackageBuilder builder;
  std::string metadata = builder.metadata();
  metadata.resize(1024 * 1024, ' ');  // trailing JSON whitespace
  builder.SetMetadata(metadata);
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->metadata_bytes(), metadata);
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
}

// --- Files that are not packages ---------------------------------------------------------------

TEST(PackageReaderFileTest, NonexistentPathIsNotFound) {
  TempDir dir;
  EXPECT_UH_ERROR(PackageReader::Open(dir / "missing.uhupkg"), Errc::kNotFound, "no such file");
}

TEST(PackageReaderFileTest, EmptyFileIsRejected) {
  TempDir dir;
  WriteFile(dir / "empty.uhupkg", "");
  EXPECT_UH_ERROR(PackageReader::Open(dir / "empty.uhupkg"), Errc::kMalformed,
                  "not a valid package (ZIP) file");
}

TEST(PackageReaderFileTest, NotAZipIsRejected) {
  TempDir dir;
  WriteFile(dir / "random.uhupkg", RandomBytes(5000, 7));
  EXPECT_UH_ERROR(PackageReader::Open(dir / "random.uhupkg"), Errc::kMalformed,
                  "not a valid package (ZIP) file");
  WriteFile(dir / "text.uhupkg", "{\"this is\": \"json, not a package\"}\n");
  EXPECT_UH_ERROR(PackageReader::Open(dir / "text.uhupkg"), Errc::kMalformed,
                  "not a valid package (ZIP) file");
}

TEST(PackageReaderFileTest, TruncatedZipIsRejected) {
  TempDir dir;
  const std::string whole = ReadFile(PackageBuilder().Write(dir));
  const std::pair<const char*, std::size_t> cuts[] = {
      {"half", whole.size() / 2},
      {"without the last 10 bytes", whole.size() - 10},
      {"first 30 bytes only", 30},
      {"without the last byte", whole.size() - 1},
  };
  for (const auto& [what, size] : cuts) {
    SCOPED_TRACE(what);
    WriteFile(dir / "cut.uhupkg", whole.substr(0, size));
    EXPECT_UH_ERROR(PackageReader::Open(dir / "cut.uhupkg"), Errc::kMalformed,
                    "not a valid package (ZIP) file");
  }
}

TEST(PackageReaderFileTest, TooManyMembersAreRejected) {
  TempDir dir;
  EXPECT_UH_ERROR(PackageReader::Open(PackageBuilder().Write(dir), {.max_members = 4}),
                  Errc::kMalformed, "more than 4 members");
}

// --- Members: missing, extra, badly named, duplicated ------------------------------------------

TEST(PackageReaderMemberTest, MissingMetadataIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.Remove(kMetadataMember);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "no 'metadata' member");
}

TEST(PackageReaderMemberTest, MissingSignatureIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.Remove(kSignatureMember);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "no 'signature' member");
}

TEST(PackageReaderMemberTest, MissingObjectIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.Remove(builder.rootfs_a_sha());
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "object " + builder.rootfs_a_sha() + " is missing");
}

TEST(PackageReaderMemberTest, ObjectNotInMetadataIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  const std::string extra = RandomBytes(100, 99);
  builder.Add(Sha256Hex(extra), extra);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "member '" + Sha256Hex(extra) + "' is not an object of the metadata");
}

TEST(PackageReaderMemberTest, UnexpectedNameIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.Add("README", "hello");
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "unexpected member 'README'");
}

TEST(PackageReaderMemberTest, NamesWithPathsAreRejected) {
  for (const char* name : {"a/b", "..", "../metadata", "/metadata", "a\\b"}) {
    SCOPED_TRACE(name);
    TempDir dir;
    PackageBuilder builder;
    builder.Add(name, "x");
    EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed, "contains a path");
  }
}

TEST(PackageReaderMemberTest, DuplicateMembersAreRejected) {
  PackageBuilder builder;
  for (const std::string& name :
       {std::string(kMetadataMember), std::string(kSignatureMember), builder.rootfs_a_sha()}) {
    SCOPED_TRACE(name);
    TempDir dir;
    PackageBuilder twice;
    twice.Add(name, twice.Member(name));  // same bytes: only the duplication is wrong
    EXPECT_UH_ERROR(PackageReader::Open(twice.Write(dir)), Errc::kMalformed,
                    "member '" + name + "' appears twice");
  }
}

TEST(PackageReaderMemberTest, SecondMetadataWithOtherBytesIsRejected) {
  // Which copy a ZIP reader keeps differs between tools: the signed one must not be swapped.
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json other = builder.metadata_json();
  other["version"] = "6.6.6";
  builder.Add(std::string(kMetadataMember), PythonJsonDumps(other));
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "member 'metadata' appears twice");
}

TEST(PackageReaderMemberTest, SymlinkMemberIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  std::vector<ZipEntry> entries;
  for (std::string_view name : {kSignatureMember, kMetadataMember}) {
    entries.push_back({std::string(name), builder.Member(name)});
  }
  entries.push_back({builder.rootfs_a_sha(), "/dev/mmcblk0", AE_IFLNK});
  ASSERT_NO_FATAL_FAILURE(WriteZip(dir / "link.uhupkg", entries, ZipMethod::kStore));
  EXPECT_UH_ERROR(PackageReader::Open(dir / "link.uhupkg"), Errc::kMalformed,
                  "is not a regular file");
}

// --- Object content ----------------------------------------------------------------------------

TEST(PackageReaderObjectTest, ObjectNotMatchingItsSha256FailsIntegrity) {
  TempDir dir;
  PackageBuilder builder;
  const std::string sha = builder.rootfs_a_sha();
  builder.Member(sha) = RandomBytes(builder.rootfs_a().size(), 1234);  // same size
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_UH_ERROR(pkg->CheckObjects(), Errc::kIntegrity, "object " + sha + " does not match");
  std::string sunk;
  EXPECT_UH_ERROR(pkg->ReadObject(sha, AppendTo(sunk)), Errc::kIntegrity,
                  "object " + sha + " does not match");
  // The shared, intact object still reads.
  EXPECT_EQ(ReadObjectBytes(*pkg, Sha256Hex(builder.app())).value_or(""), builder.app());
}

TEST(PackageReaderObjectTest, ObjectOfAnotherSizeIsRejectedAtOpen) {
  TempDir dir;
  PackageBuilder builder;
  const std::string sha = builder.rootfs_a_sha();
  builder.Member(sha) += "x";
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kIntegrity,
                  "object " + sha + " is 4097 bytes but the metadata says 4096");
}

TEST(PackageReaderObjectTest, ObjectDeclaredWithTwoSizesIsRejected) {
  // app.bin is in both installation sets; set 1 declares one byte more than the member holds.
  // Whichever declaration the reader compares, the other one is false.
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json metadata = builder.metadata_json();
  ASSERT_EQ(metadata["objects"][1][1]["filename"], "app.bin");
  metadata["objects"][1][1]["size"] = builder.app().size() + 1;
  builder.SetMetadataJson(metadata);
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_FALSE(pkg.has_value()) << "object " << Sha256Hex(builder.app())
                                << " accepted with sizes 1000 and 1001";
  EXPECT_THAT(pkg.error().code(), ::testing::AnyOf(Errc::kMalformed, Errc::kIntegrity))
      << pkg.error().message();
  EXPECT_THAT(pkg.error().message(), HasSubstr("size"));
}

TEST(PackageReaderObjectTest, UnknownSha256IsNotFound) {
  TempDir dir;
  PackageBuilder builder;
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  const std::string unknown = Sha256Hex("not in the package");
  std::string sunk;
  EXPECT_UH_ERROR(pkg->ReadObject(unknown, AppendTo(sunk)), Errc::kNotFound,
                  "object " + unknown + " is not in the package");
  EXPECT_TRUE(sunk.empty());
}

TEST(PackageReaderObjectTest, NonHexSha256IsInvalidArgument) {
  TempDir dir;
  PackageBuilder builder;
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  std::string upper = builder.rootfs_a_sha();
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const std::string& name : {std::string("metadata"), std::string("../etc/passwd"),
                                  std::string(64, 'g'), upper, std::string()}) {
    SCOPED_TRACE(name);
    std::string sunk;
    EXPECT_UH_ERROR(pkg->ReadObject(name, AppendTo(sunk)), Errc::kInvalidArgument,
                    "not an object sha256");
    EXPECT_TRUE(sunk.empty());
  }
}

TEST(PackageReaderObjectTest, DeflatedObjectLongerThanItsZipSizeIsRejected) {
  // libarchive's writer cannot produce this (it cuts data at the declared size), so the ZIP is
  // written by libarchive and then its headers are patched to declare half the real size. The
  // metadata declares that half and its sha256, so a reader that stopped at the declared size
  // without noticing the rest would accept the object. The object is larger than libarchive's
  // inflate buffer, so the excess arrives in later data blocks.
  TempDir dir;
  PackageBuilder builder;
  const std::string object = RandomBytes(1024 * 1024, 77);
  const std::string half = object.substr(0, object.size() / 2);
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"] = OneSet({TestObject("bomb.bin", half.size(), Sha256Hex(half))});
  builder.SetMetadataJson(metadata);
  const std::vector<ZipEntry> entries = {
      {std::string(kSignatureMember), builder.Member(kSignatureMember)},
      {std::string(kMetadataMember), builder.Member(kMetadataMember)},
      {Sha256Hex(half), object},
  };
  ASSERT_NO_FATAL_FAILURE(WriteZip(dir / "bomb.uhupkg", entries, ZipMethod::kDeflate));
  std::string zip = ReadFile(dir / "bomb.uhupkg");
  ASSERT_NO_FATAL_FAILURE(
      PatchUncompressedSize(zip, Sha256Hex(half), static_cast<std::uint32_t>(half.size())));
  WriteFile(dir / "bomb.uhupkg", zip);

  // Open does not read object data; the excess shows when the object is read.
  auto pkg = PackageReader::Open(dir / "bomb.uhupkg");
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_UH_ERROR(pkg->CheckObjects(), Errc::kMalformed, "longer than its ZIP size");
  std::string sunk;
  EXPECT_UH_ERROR(pkg->ReadObject(Sha256Hex(half), AppendTo(sunk)), Errc::kMalformed,
                  "longer than its ZIP size");
  EXPECT_LE(sunk.size(), half.size());
}

// --- Metadata ----------------------------------------------------------------------------------

TEST(PackageReaderMetadataTest, NotJsonIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.SetMetadata("this is not json");
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed, "invalid JSON");
}

TEST(PackageReaderMetadataTest, OverOneMebibyteIsTooLarge) {
  TempDir dir;
  PackageBuilder builder;
  std::string metadata = builder.metadata();
  metadata.resize(1024 * 1024 + 1, ' ');  // still valid JSON
  builder.SetMetadata(metadata);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kTooLarge,
                  "metadata is larger than 1048576 bytes");
}

TEST(PackageReaderMetadataTest, SizeAsStringIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"][0][0]["size"] = "4096";
  builder.SetMetadataJson(metadata);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "field 'size': expected integer, got string");
}

TEST(PackageReaderMetadataTest, ObjectsNotAnArrayIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"] = {{"rootfs.img", builder.rootfs_a_sha()}};  // an object
  ASSERT_TRUE(metadata["objects"].is_object());
  builder.SetMetadataJson(metadata);
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "field 'objects': expected array, got object");
}

TEST(PackageReaderMetadataTest, DeeplyNestedJsonIsRejectedWithoutOverflow) {
  TempDir dir;
  PackageBuilder builder;
  builder.SetMetadata(std::string(100000, '['));
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed, "nesting");
}

TEST(PackageReaderMetadataTest, HugeDeclaredSizeFailsFast) {
  // The member really has 4096 bytes: the reader must compare, not allocate or read 2^62 bytes.
  TempDir dir;
  PackageBuilder builder;
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"][0][0]["size"] = std::uint64_t{1} << 62;
  builder.SetMetadataJson(metadata);
  const auto path = builder.Write(dir);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_UH_ERROR(PackageReader::Open(path), Errc::kIntegrity,
                  "is 4096 bytes but the metadata says 4611686018427387904");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(PackageReaderMetadataTest, HugeDeclaredZipSizeFailsFast) {
  // Metadata and ZIP headers both claim 2^62 bytes for an object that holds 4096: Open trusts
  // the headers (it reads no object data), and reading must end with an error as soon as the
  // data runs out, without allocating for the declared size.
  TempDir dir;
  PackageBuilder builder;
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 62;
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"][0][0]["size"] = kHuge;
  builder.SetMetadataJson(metadata);
  std::vector<RawMember> members = RawMembers(builder);
  for (RawMember& member : members) {
    if (member.name == builder.rootfs_a_sha()) member.declared_size = kHuge;
  }
  WriteFile(dir / "huge.uhupkg", RawZip(members));

  const auto start = std::chrono::steady_clock::now();
  auto pkg = PackageReader::Open(dir / "huge.uhupkg");
  if (pkg) {
    const std::string sha = builder.rootfs_a_sha();
    auto checked = pkg->CheckObjects();
    ASSERT_FALSE(checked.has_value());
    EXPECT_UH_ERROR(checked, Errc::kMalformed, "member '" + sha + "'");
    EXPECT_THAT(checked.error().message(), ::testing::ContainsRegex("[Tt]runcated"));
    std::string sunk;
    auto read = pkg->ReadObject(sha, AppendTo(sunk));
    ASSERT_FALSE(read.has_value());
    EXPECT_UH_ERROR(read, Errc::kMalformed, "member '" + sha + "'");
    EXPECT_THAT(read.error().message(), ::testing::ContainsRegex("[Tt]runcated"));
    // The sink may have seen the bytes that follow in the file (the documented contract: its
    // output counts only on success), never more.
    EXPECT_LE(sunk.size(), std::filesystem::file_size(dir / "huge.uhupkg"));
  } else {
    // Refusing a declared size the file cannot hold is fine too.
    EXPECT_THAT(pkg.error().code(), ::testing::AnyOf(Errc::kMalformed, Errc::kTooLarge))
        << pkg.error().message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(PackageReaderMetadataTest, ObjectsSizeDoesNotWrapAround) {
  // Four objects whose metadata and ZIP headers each claim 2^62 bytes: the sum, 2^64, does not
  // fit in 64 bits. objects_size() feeds free-space checks, so it must not come out small.
  TempDir dir;
  PackageBuilder builder;
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 62;
  std::vector<nlohmann::json> objects;
  std::vector<RawMember> members;
  for (int i = 0; i < 4; ++i) {
    const std::string data = RandomBytes(10, 100 + i);
    objects.push_back(TestObject("part" + std::to_string(i), kHuge, Sha256Hex(data)));
    members.push_back({Sha256Hex(data), data, kHuge});
  }
  nlohmann::json metadata = builder.metadata_json();
  metadata["objects"] = OneSet(objects);
  builder.SetMetadataJson(metadata);
  for (std::string_view name : {kMetadataMember, kSignatureMember}) {
    members.insert(members.begin(),
                   {std::string(name), builder.Member(name), builder.Member(name).size()});
  }
  WriteFile(dir / "huge.uhupkg", RawZip(members));

  auto pkg = PackageReader::Open(dir / "huge.uhupkg");
  if (!pkg) {
    // Refusing sizes that cannot be real is a fix too.
    EXPECT_THAT(pkg.error().code(), ::testing::AnyOf(Errc::kMalformed, Errc::kTooLarge))
        << pkg.error().message();
    return;
  }
  EXPECT_GE(pkg->objects_size(), kHuge) << "the sum of the object sizes wrapped around";
}

// --- Signatures --------------------------------------------------------------------------------

TEST(PackageReaderSignatureTest, CorruptedSignatureFails) {
  TempDir dir;
  PackageBuilder builder;
  std::string& signature = builder.Member(kSignatureMember);
  signature[10] = signature[10] == 'A' ? 'B' : 'A';  // still valid base64
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_TRUE(pkg->is_signed());
  EXPECT_UH_ERROR(pkg->VerifySignature(TestPublicKey()), Errc::kSignature, "does not verify");
}

TEST(PackageReaderSignatureTest, SignatureNotBase64IsAnError) {
  const std::vector<std::string> signatures = {
      "not base64 at all!", "QUJD\nQUJD", "QUJ", "====", "QU=D", RandomBytes(344, 5)};
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    SCOPED_TRACE("signature #" + std::to_string(i));
    TempDir dir;
    PackageBuilder builder;
    builder.Member(kSignatureMember) = signatures[i];
    auto pkg = PackageReader::Open(builder.Write(dir));
    ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
    EXPECT_UH_ERROR(pkg->VerifySignature(TestPublicKey()), Errc::kMalformed, "base64");
  }
}

TEST(PackageReaderSignatureTest, SignatureByAnotherKeyFails) {
  TempDir dir;
  PackageBuilder builder;
  auto other = PrivateKey::Generate(2048);
  ASSERT_TRUE(other.has_value()) << other.error().message();
  builder.Member(kSignatureMember) = *other->SignBase64(builder.metadata());
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_UH_ERROR(pkg->VerifySignature(TestPublicKey()), Errc::kSignature, "does not verify");
  auto other_public = PublicKey::FromPem(other->PublicPem());
  ASSERT_TRUE(other_public.has_value());
  EXPECT_TRUE(pkg->VerifySignature(*other_public).has_value());
}

TEST(PackageReaderSignatureTest, SignatureWithTrailingNewlineVerifies) {
  TempDir dir;
  PackageBuilder builder;
  builder.Member(kSignatureMember) += "\n";
  auto pkg = PackageReader::Open(builder.Write(dir));
  ASSERT_TRUE(pkg.has_value()) << pkg.error().message();
  EXPECT_EQ(pkg->signature(), Sign(builder.metadata()));
  EXPECT_TRUE(pkg->VerifySignature(TestPublicKey()).has_value());
}

TEST(PackageReaderSignatureTest, OversizedSignatureIsRejected) {
  TempDir dir;
  PackageBuilder builder;
  builder.Member(kSignatureMember) = std::string(16 * 1024 + 4, 'A');
  EXPECT_UH_ERROR(PackageReader::Open(builder.Write(dir)), Errc::kMalformed,
                  "signature member is larger than");
}

}  // namespace
}  // namespace uh::package
