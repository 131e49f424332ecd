// Uploads taken apart as they arrive (package::PackageStream, PackageUpload): each object hashed
// once and moved into the object store; anything that is not the plain layout copied byte for
// byte and read as a file; nothing kept of a refused package.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "package/package_reader.hpp"
#include "package/package_stream.hpp"
#include "package/package_writer.hpp"
#include "server/object_store.hpp"
#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using ::testing::HasSubstr;

std::filesystem::path UploadTestPackage(const char* name) {
  return uh::testing::TestPackagesDir() / name;
}

std::size_t FilesLeftUnder(const std::filesystem::path& dir) {
  std::size_t count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

std::string ObjectBytesOf(const package::PackageReader& reader, std::string_view sha256) {
  std::string bytes;
  auto read = reader.ReadObject(sha256, [&](std::span<const std::byte> data) -> Expected<void> {
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  });
  EXPECT_TRUE(read) << read.error().message();
  return bytes;
}

// A copy of the package `source` whose object `sha256` has one byte changed: a well-formed ZIP
// (its CRCs computed anew) with a valid signature, whose object does not match its name.
std::filesystem::path WithForgedObject(const std::filesystem::path& source,
                                       const std::string& sha256,
                                       const std::filesystem::path& destination) {
  auto reader = package::PackageReader::Open(source);
  EXPECT_TRUE(reader) << reader.error().message();
  auto writer = package::PackageWriter::Create(destination);
  EXPECT_TRUE(writer) << writer.error().message();
  for (const package::Member& member : reader->members()) {
    std::string data;
    if (member.name == package::kMetadataMember) {
      data = reader->metadata_bytes();
    } else if (member.name == package::kSignatureMember) {
      data = reader->signature();
    } else {
      data = ObjectBytesOf(*reader, member.name);
      if (member.name == sha256) data[data.size() / 2] ^= 0x20;
    }
    EXPECT_TRUE(writer->AddMember(member.name, data));
  }
  EXPECT_TRUE(writer->Finish());
  return destination;
}

// The bytes of a package handed to a PackageStream in uneven pieces, as they arrive over TCP.
struct Streamed {
  Expected<std::optional<package::PackageStream::Split>> result = std::nullopt;
  bool copied = false;
};

class PackageStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = ObjectStore::Open(dir_ / "objects");
    ASSERT_TRUE(objects) << objects.error().message();
    objects_.emplace(std::move(*objects));
  }

  Streamed Stream(std::string_view bytes) {
    Streamed out;
    std::filesystem::remove(dir_ / "copy");
    package::PackageStream stream(
        [this](std::string_view sha256, std::uint64_t size) {
          return objects_->Stage(sha256, size);
        },
        [&out, this]() -> Expected<File> {
          out.copied = true;
          return File::CreateNew(dir_ / "copy", 0600);
        });
    std::mt19937 engine(11);
    const std::size_t pieces[] = {1, 3, 30, 512, 4093, 65536, 300000};
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), pieces[engine() % std::size(pieces)]);
      auto written = stream.Write(std::as_bytes(std::span(bytes.data(), n)));
      EXPECT_TRUE(written) << written.error().message();
      bytes.remove_prefix(n);
    }
    out.result = stream.Finish("the package");
    return out;
  }

  uh::testing::TempDir dir_;
  std::optional<ObjectStore> objects_;
};

TEST_F(PackageStreamTest, SplitsThePackagesOfUpdatehubPkgAndUhu) {
  std::vector<std::filesystem::path> packages = {UploadTestPackage("signed.uhupkg"),
                                                 UploadTestPackage("compressed.uhupkg")};
  if (auto upstream = uh::testing::FindUpstreamDir()) {  // written by uhu: no data descriptors
    packages.push_back(*upstream / "signed.uhupkg");
    packages.push_back(*upstream / "compressed.uhupkg");
  }
  for (const auto& path : packages) {
    SCOPED_TRACE(path.string());
    auto reference = package::PackageReader::Open(path);
    ASSERT_TRUE(reference) << reference.error().message();
    auto streamed = Stream(uh::testing::ReadFile(path));
    ASSERT_TRUE(streamed.result) << streamed.result.error().message();
    ASSERT_TRUE(*streamed.result) << "copied instead of split";
    EXPECT_FALSE(streamed.copied);
    const auto& split = **streamed.result;
    EXPECT_EQ(split.reader.uid(), reference->uid());
    EXPECT_EQ(split.reader.signature(), reference->signature());
    ASSERT_EQ(split.reader.members().size(), reference->members().size());
    for (std::size_t i = 0; i < split.reader.members().size(); ++i) {
      EXPECT_EQ(split.reader.members()[i].name, reference->members()[i].name);
      EXPECT_EQ(split.reader.members()[i].size, reference->members()[i].size);
    }
    ASSERT_EQ(split.objects.size(), reference->metadata().DistinctObjects().size());
    for (const auto& object : split.objects) {
      EXPECT_EQ(object.digest, object.sha256);
      EXPECT_TRUE(uh::testing::ReadFile(object.file.temp_path()) ==
                  ObjectBytesOf(*reference, object.sha256));
    }
  }
  EXPECT_EQ(FilesLeftUnder(dir_ / "objects"), 0u);  // not committed: gone with the splits
}

TEST_F(PackageStreamTest, WhatItDoesNotSplitItCopiesByteForByte) {
  const std::string original = uh::testing::ReadFile(UploadTestPackage("signed.uhupkg"));
  std::string flipped = original;
  flipped[flipped.size() - 2000] ^= 0x55;  // inside the last object: its CRC no longer matches
  std::string commented = original;
  commented[commented.size() - 2] = 4;  // the end record announces a comment...
  commented += "note";                  // ...and has one
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"not a ZIP", uh::testing::RandomBytes(100000, 5)},
      {"cut in a header", original.substr(0, 10)},
      {"cut in the metadata", original.substr(0, 700)},
      {"cut in an object", original.substr(0, original.size() / 2)},
      {"cut in the central directory", original.substr(0, original.size() - 100)},
      {"an object byte changed", flipped},
      {"bytes after the end", original + "trailing"},
      {"a comment", commented},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    auto streamed = Stream(bytes);
    ASSERT_TRUE(streamed.result) << streamed.result.error().message();
    EXPECT_FALSE(*streamed.result);
    EXPECT_TRUE(streamed.copied);
    EXPECT_TRUE(uh::testing::ReadFile(dir_ / "copy") == bytes);
    EXPECT_EQ(FilesLeftUnder(dir_ / "objects"), 0u);
  }
}

TEST_F(PackageStreamTest, AnObjectThatDoesNotMatchItsNameIsSplitWithTheDigestOfItsBytes) {
  const auto forged =
      WithForgedObject(UploadTestPackage("signed.uhupkg"), kRootfs, dir_ / "forged");
  auto streamed = Stream(uh::testing::ReadFile(forged));
  ASSERT_TRUE(streamed.result) << streamed.result.error().message();
  ASSERT_TRUE(*streamed.result);
  bool seen = false;
  for (const auto& object : (*streamed.result)->objects) {
    if (object.sha256 != kRootfs) continue;
    seen = true;
    EXPECT_NE(object.digest, object.sha256);
  }
  EXPECT_TRUE(seen);
}

class ServerUploadTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.SetUpConformanceProduct(); }

  std::size_t PackagesStored() {
    auto list = server_.Api("GET", std::string("/api/v1/packages?product=") + kConformanceProduct);
    return nlohmann::json::parse(list.body)["packages"].size();
  }

  ServerFixture server_;
  std::filesystem::path data_ = server_.dir / "data";
};

TEST_F(ServerUploadTest, ObjectsAreMovedIntoTheStoreAndNothingElseIsLeft) {
  auto answer = server_.Upload(UploadTestPackage("signed.uhupkg"));
  ASSERT_EQ(answer.status, 201) << answer.body;
  auto reference = package::PackageReader::Open(UploadTestPackage("signed.uhupkg"));
  ASSERT_TRUE(reference);
  const auto objects = reference->metadata().DistinctObjects();
  EXPECT_EQ(FilesLeftUnder(data_ / "objects"), objects.size());  // no temporary file
  for (const auto* object : objects) {
    EXPECT_TRUE(uh::testing::ReadFile(server_.config().ObjectsDir() /
                                      object->sha256sum.substr(0, 2) / object->sha256sum) ==
                ObjectBytesOf(*reference, object->sha256sum));
  }
  EXPECT_EQ(FilesLeftUnder(data_ / "tmp"), 0u);
  // The same package again is checked, and nothing more is stored.
  EXPECT_EQ(server_.Upload(UploadTestPackage("signed.uhupkg")).status, 200);
  EXPECT_EQ(FilesLeftUnder(data_ / "objects"), objects.size());
  EXPECT_EQ(FilesLeftUnder(data_ / "tmp"), 0u);
}

TEST_F(ServerUploadTest, AnObjectWhoseBytesDoNotMatchItsSha256IsRefusedAndNothingIsStored) {
  const auto forged =
      WithForgedObject(UploadTestPackage("signed.uhupkg"), kRootfs, server_.dir / "forged.uhupkg");
  auto answer = server_.Upload(forged);
  EXPECT_EQ(answer.status, 422) << answer.body;
  EXPECT_THAT(answer.body, HasSubstr("object " + kRootfs + " does not match its sha256"));
  EXPECT_THAT(answer.body, ::testing::Not(HasSubstr(data_.string())));
  EXPECT_EQ(PackagesStored(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(data_ / "objects"));  // not even a directory
  EXPECT_EQ(FilesLeftUnder(data_ / "tmp"), 0u);
  // The genuine package still goes in.
  EXPECT_EQ(server_.Upload(UploadTestPackage("signed.uhupkg")).status, 201);
}

TEST_F(ServerUploadTest, APackageNotSplitGetsTheAnswerOfTheFileAndLeavesNothing) {
  const std::string original = uh::testing::ReadFile(UploadTestPackage("signed.uhupkg"));
  uh::testing::WriteFile(server_.dir / "cut.uhupkg", original.substr(0, original.size() - 100));
  auto cut = server_.Upload(server_.dir / "cut.uhupkg");
  EXPECT_EQ(cut.status, 400) << cut.body;
  EXPECT_THAT(cut.body, ::testing::Not(HasSubstr(data_.string())));
  uh::testing::WriteFile(server_.dir / "trailing.uhupkg", original + "trailing bytes");
  auto trailing = server_.Upload(server_.dir / "trailing.uhupkg");
  EXPECT_TRUE(trailing.status == 201 || trailing.status == 400) << trailing.body;
  if (trailing.status == 201) {
    EXPECT_EQ(PackagesStored(), 1u);
  } else {
    EXPECT_EQ(PackagesStored(), 0u);
    EXPECT_TRUE(std::filesystem::is_empty(data_ / "objects"));
  }
  EXPECT_EQ(FilesLeftUnder(data_ / "tmp"), 0u);
}

}  // namespace
}  // namespace uh::server::testing
