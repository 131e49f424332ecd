// PackageStream on an untrusted upload, cut into Write() calls the way the network might cut it,
// against PackageReader::Open on the same bytes. The first input byte picks the cutting (0: one
// write, 1: one byte per write, else a seed for sizes in 1..2^(1 + byte / 16), with some empty
// writes); the rest is the body. The stream's files go to one scratch directory, emptied before
// each input; Open reads the body from a scratch file of its own.
//
// Properties, besides no crash, sanitizer report, exception or hang:
//  - Write fails only when the disk does (never here); the copy file is asked for at most once
//    and, when the body went there, holds exactly the body; a split opened no copy;
//  - the decision agrees with Open: a split that FromMembers accepted is a package Open accepts,
//    and one FromMembers refused is one Open refuses, with the same kind of error;
//  - a split has Open's members (names, sizes, order), metadata, signature and uid, and its
//    objects are Open's object members in order: each file holds the bytes ReadObject streams
//    for it, `digest` is their sha256, and ReadObject succeeds exactly when `digest` is the name;
//  - once the stream and its split are gone, only the copy file is left (no object file leaks).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/hash.hpp"
#include "fuzz_check.hpp"
#include "fuzz_support.hpp"
#include "package/package_reader.hpp"
#include "package/package_stream.hpp"

namespace {

using uh::package::Member;
using uh::package::PackageReader;
using uh::package::PackageStream;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  UH_FUZZ_CHECK(in.is_open(), "cannot open a file the stream wrote");
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  UH_FUZZ_CHECK(!in.bad(), "cannot read a file the stream wrote");
  return bytes;
}

void Empty(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
    UH_FUZZ_CHECK(!ec, "cannot empty the scratch directory");
  }
  UH_FUZZ_CHECK(!ec, "cannot list the scratch directory");
}

std::vector<std::string> Listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// What each side said, before a check on their decisions fails.
void Tell(const char* who, const uh::Error& error) {
  std::fprintf(stderr, "%s: %s\n", who, error.message().c_str());
}

bool SameMembers(const std::vector<Member>& a, const std::vector<Member>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Member& x, const Member& y) {
    return x.name == y.name && x.size == y.size;
  });
}

// The sizes of the Write() calls, as the first input byte picks them.
class Cutter {
 public:
  Cutter(std::uint8_t choice, std::size_t total)
      : choice_(choice), left_(total), state_(0x9e3779b9u * (choice + 1u) | 1u) {}

  // The next chunk's size (0 for an empty write); nullopt when everything was given.
  std::optional<std::size_t> Next() {
    if (left_ == 0) return std::nullopt;
    std::size_t n = left_;
    if (choice_ == 1) {
      n = 1;
    } else if (choice_ != 0) {
      const std::uint32_t r = Random();
      if ((r & 31u) == 0) return 0;
      const std::uint32_t limit = 1u << (1 + choice_ / 16);
      n = std::min<std::size_t>(left_, 1 + (r >> 5) % limit);
    }
    left_ -= n;
    return n;
  }

 private:
  std::uint32_t Random() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

  std::uint8_t choice_;
  std::size_t left_;
  std::uint32_t state_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const uh::fuzz::ScratchDir input_dir;  // the body, for PackageReader::Open
  static const uh::fuzz::ScratchDir out_dir;    // what the stream writes
  Empty(out_dir.path());
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto package_path = input_dir.Write("package.uhupkg", body);
  const auto copy_path = out_dir.path() / "copy";

  auto opened = PackageReader::Open(package_path);

  int copies = 0;
  std::vector<Member> asked;  // the object files the stream asked for
  {
    PackageStream stream(
        [&](std::string_view sha256, std::uint64_t object_size) -> uh::Expected<uh::AtomicFile> {
          UH_FUZZ_CHECK(uh::IsLowerHexSha256(sha256), "an object file for a name that is not one");
          UH_FUZZ_CHECK(copies == 0, "an object file asked for after the copy");
          asked.push_back({std::string(sha256), object_size});
          return uh::AtomicFile::Create(out_dir.path() / sha256);
        },
        [&]() -> uh::Expected<uh::File> {
          UH_FUZZ_CHECK(++copies == 1, "the copy file asked for twice");
          return uh::File::CreateNew(copy_path, 0644);
        });

    Cutter cutter(data[0], body.size());
    std::size_t at = 0;
    while (auto n = cutter.Next()) {
      auto written = stream.Write(std::as_bytes(std::span(body.data() + at, *n)));
      UH_FUZZ_CHECK(written.has_value(), "Write failed on a disk with room");
      at += *n;
    }
    UH_FUZZ_CHECK(at == body.size(), "the cutter lost bytes");

    auto finished = stream.Finish("the package");
    if (!finished) {
      // FromMembers refused what the stream split.
      UH_FUZZ_CHECK(copies == 0, "Finish failed after copying the body");
      if (opened || finished.error().code() != opened.error().code()) {
        Tell("Finish", finished.error());
        if (!opened) Tell("Open", opened.error());
      }
      UH_FUZZ_CHECK(!opened, "the stream's split was refused, Open accepts the package");
      UH_FUZZ_CHECK(finished.error().code() == opened.error().code(),
                    "the split and Open refuse the package with different kinds of error");
    } else if (!*finished) {
      UH_FUZZ_CHECK(copies == 1, "no split, and no copy either");
      UH_FUZZ_CHECK(ReadAll(copy_path) == body, "the copy file differs from the body");
    } else {
      PackageStream::Split& split = **finished;
      UH_FUZZ_CHECK(copies == 0, "a split opened the copy file");
      if (!opened) Tell("Open", opened.error());
      UH_FUZZ_CHECK(opened.has_value(), "the stream split and accepted a package Open refuses");
      const PackageReader& reader = split.reader;
      UH_FUZZ_CHECK(SameMembers(reader.members(), opened->members()),
                    "the split's members differ from Open's");
      UH_FUZZ_CHECK(reader.metadata_bytes() == opened->metadata_bytes(),
                    "the split's metadata differs from Open's");
      UH_FUZZ_CHECK(reader.signature() == opened->signature(),
                    "the split's signature differs from Open's");
      UH_FUZZ_CHECK(reader.uid() == opened->uid(), "the split's uid differs from Open's");

      std::vector<Member> object_members;
      for (const Member& member : opened->members()) {
        if (uh::IsLowerHexSha256(member.name)) object_members.push_back(member);
      }
      std::vector<Member> objects;
      for (const auto& object : split.objects) objects.push_back({object.sha256, object.size});
      UH_FUZZ_CHECK(SameMembers(objects, object_members),
                    "the split's objects are not Open's object members");
      UH_FUZZ_CHECK(SameMembers(objects, asked), "the split's objects are not the files asked");

      for (const auto& object : split.objects) {
        const std::string bytes = ReadAll(object.file.temp_path());
        UH_FUZZ_CHECK(bytes.size() == object.size, "an object file is not its member's size");
        UH_FUZZ_CHECK(object.digest == uh::Sha256Hex(bytes),
                      "an object's digest is not the sha256 of its file");
        std::string streamed;
        auto read = opened->ReadObject(object.sha256, [&](std::span<const std::byte> chunk) {
          streamed.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
          return uh::Expected<void>{};
        });
        UH_FUZZ_CHECK(read || read.error().code() == uh::Errc::kIntegrity,
                      "ReadObject cannot read an object member of a package Open accepted");
        UH_FUZZ_CHECK(streamed == bytes, "an object file differs from what ReadObject streams");
        UH_FUZZ_CHECK(read.has_value() == (object.digest == object.sha256),
                      "ReadObject and the digest disagree on whether the object matches its name");
      }
    }
  }
  // Objects not committed are gone with their AtomicFile: only the copy may be left.
  const auto left = Listing(out_dir.path());
  UH_FUZZ_CHECK(left.empty() || (copies == 1 && left == std::vector<std::string>{"copy"}),
                "the stream left files behind");
  return 0;
}
