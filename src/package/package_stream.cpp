#include "package/package_stream.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "core/hash.hpp"

namespace uh::package {
namespace {

// ZIP records (APPNOTE.TXT 4.3): signatures and fixed sizes.
constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kDescriptor = 0x08074b50;
constexpr std::uint32_t kEndOfCentral = 0x06054b50;
constexpr std::size_t kLocalSize = 30;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kDescriptorSize = 16;
constexpr std::size_t kEndSize = 22;
// Flags a split member may have: 1-2 (deflate options, meaningless when stored), 3 (sizes and
// CRC also in a data descriptor after the data), 11 (UTF-8 names). Encryption and the rest: no.
constexpr std::uint16_t kSplitFlags = 0x0002 | 0x0004 | 0x0008 | 0x0800;
constexpr std::uint16_t kHasDescriptor = 0x0008;
// Bytes kept in memory (headers, metadata, signature, central directory) before the body is
// copied instead: metadata is at most 1 MiB, the rest of a real package a few KiB.
constexpr std::size_t kMaxHeld = 4 * 1024 * 1024;
// An object's bytes are handed to the disk every so many (StartWriteOut), so that the fsync
// that commits it finds little left to write.
constexpr std::uint64_t kWriteOutEvery = 8 * 1024 * 1024;

std::uint32_t U16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint8_t>(bytes[at]) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[at + 1])) << 8;
}

std::uint32_t U32(std::string_view bytes, std::size_t at) {
  return U16(bytes, at) | U16(bytes, at + 2) << 16;
}

// Extra fields that libarchive reads without changing a member's name or sizes: extended
// timestamp (UT), Info-ZIP Unix owner (ux), NTFS times. Others (ZIP64 sizes, Unicode path)
// could make it see another member than the local header says: such a package is copied.
bool KnownExtraFields(std::string_view extra) {
  while (!extra.empty()) {
    if (extra.size() < 4) return false;
    const std::uint32_t id = U16(extra, 0);
    const std::uint32_t size = U16(extra, 2);
    if (extra.size() - 4 < size) return false;
    if (id != 0x5455 && id != 0x7875 && id != 0x000a) return false;
    extra.remove_prefix(4 + size);
  }
  return true;
}

// As libarchive types a member from its central directory entry: a Unix entry by its mode (no
// type bits, as uhu writes for metadata, counts as a file), any other by the DOS directory bit.
bool IsRegularFile(std::uint32_t made_by, std::uint32_t external_attributes) {
  if ((made_by >> 8) == 3) {
    const std::uint32_t type = (external_attributes >> 16) & 0170000;
    return type == 0100000 || type == 0;
  }
  return (external_attributes & 0x10) == 0;
}

// A write that fails for want of room is kNoSpace, whether the disk is full (ENOSPC) or the
// file larger than the process may write (EFBIG, RLIMIT_FSIZE).
Expected<void> WriteAll(File& file, std::span<const std::byte> bytes) {
  auto written = file.WriteAll(bytes);
  if (!written && errno == EFBIG) return Fail(Errc::kNoSpace, written.error().message());
  return written;
}

Expected<void> WriteAll(File& file, std::string_view bytes) {
  return WriteAll(file, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

}  // namespace

struct PackageStream::State {
  enum class Step { kSignature, kLocalHeader, kLocalNames, kData, kDescriptor, kCentral };

  // A member as its local header and data gave it.
  struct Read {
    Member member;
    std::uint64_t header_offset = 0;
    std::uint32_t flags = 0;
    std::uint32_t crc = 0;  // of the data received
  };
  // Where an object's bytes were taken out of the body: before held[held_at].
  struct Splice {
    std::size_t held_at = 0;
    std::size_t object = 0;
  };

  OpenObject open_object;
  OpenCopy open_copy;
  ReaderLimits limits;

  Step step = Step::kSignature;
  std::string held;      // every byte of the body that is not an object's
  std::size_t mark = 0;  // where the record being read starts in `held`
  std::size_t need = 4;  // its length so far known
  std::uint64_t consumed = 0;
  std::vector<Splice> splices;
  std::vector<Read> reads;
  std::set<std::string> names;
  std::vector<StreamedObject> objects;
  std::string metadata;
  std::string signature;
  std::uint64_t central_offset = 0;
  std::size_t central_mark = 0;
  std::optional<File> copy;  // the body, once it cannot be split

  // The member being read.
  Read current;
  std::uint32_t local_crc = 0;
  std::optional<std::size_t> object;  // its index in `objects`
  std::size_t data_mark = 0;          // where its data starts in `held` (not an object)
  std::uint64_t remaining = 0;
  std::uint64_t written_out = 0;
  uLong crc = 0;
  Sha256 hash;

  // Handles the record that has just become whole (held[mark, mark + need)).
  Expected<void> Advance() {
    const std::string_view record(held.data() + mark, held.size() - mark);
    switch (step) {
      case Step::kSignature:
        if (U32(record, 0) == kLocalHeader) {
          step = Step::kLocalHeader;
          need = kLocalSize;
          return {};
        }
        if (U32(record, 0) == kCentralHeader && !reads.empty()) {
          step = Step::kCentral;
          central_mark = mark;
          central_offset = consumed - 4;
          need = kMaxHeld;
          return {};
        }
        return Copy();
      case Step::kLocalHeader: {
        const std::uint32_t flags = U16(record, 6);
        const std::uint32_t size = U32(record, 18);
        if ((flags & ~kSplitFlags) != 0 || U16(record, 8) != 0 || size != U32(record, 22) ||
            size == 0xffffffff) {
          return Copy();  // encrypted, deflated, or ZIP64
        }
        current =
            Read{.member = {"", size}, .header_offset = consumed - kLocalSize, .flags = flags};
        local_crc = U32(record, 14);
        step = Step::kLocalNames;
        need = kLocalSize + U16(record, 26) + U16(record, 28);
        return need == kLocalSize ? Advance() : Expected<void>{};
      }
      case Step::kLocalNames:
        return BeginData(record);
      case Step::kDescriptor:
        if (U32(record, 0) != kDescriptor || U32(record, 4) != crc ||
            U32(record, 8) != current.member.size || U32(record, 12) != current.member.size) {
          return Copy();
        }
        return NextMember();
      case Step::kData:
      case Step::kCentral:
        break;
    }
    return {};
  }

  Expected<void> BeginData(std::string_view header) {
    const std::size_t name_size = U16(header, 26);
    std::string name(header.substr(kLocalSize, name_size));
    if (!KnownExtraFields(header.substr(kLocalSize + name_size))) return Copy();
    // What PackageReader refuses, it refuses with its own words: copy, and let it read.
    const bool is_object = IsLowerHexSha256(name);
    if (!is_object && name != kMetadataMember && name != kSignatureMember) return Copy();
    if (!names.insert(name).second || names.size() > limits.max_members) return Copy();
    const std::uint64_t size = current.member.size;
    if (name == kMetadataMember && size > limits.max_metadata_bytes) return Copy();
    if (name == kSignatureMember && size > limits.max_signature_bytes) return Copy();
    object.reset();
    if (is_object) {
      auto file = open_object(name, size);
      if (!file && file.error().code() == Errc::kNoSpace) return Copy();
      if (!file) return std::unexpected(file.error());
      objects.push_back(StreamedObject{name, size, {}, std::move(*file)});
      object = objects.size() - 1;
      splices.push_back({held.size(), *object});
      hash = Sha256();
      written_out = 0;
    }
    current.member.name = std::move(name);
    data_mark = held.size();
    crc = ::crc32_z(0, nullptr, 0);
    remaining = size;
    step = Step::kData;
    return remaining == 0 ? EndData() : Expected<void>{};
  }

  Expected<void> Data(std::span<const std::byte> bytes) {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    crc = ::crc32_z(crc, data, bytes.size());
    if (object) {
      hash.Update(bytes);
      File& file = objects[*object].file.file();
      UH_TRY(WriteAll(file, bytes));
      const std::uint64_t done = current.member.size - remaining + bytes.size();
      if (done - written_out >= kWriteOutEvery) {
        StartWriteOut(file.fd(), written_out, done - written_out);
        written_out = done;
      }
    } else {
      held.append(reinterpret_cast<const char*>(data), bytes.size());
    }
    consumed += bytes.size();
    remaining -= bytes.size();
    return remaining == 0 ? EndData() : Expected<void>{};
  }

  Expected<void> EndData() {
    // With a data descriptor, the local header may leave the CRC 0; any other value must be the
    // data's, or libarchive (PackageReader::Open) refuses the member: copy, and let it.
    if ((current.flags & kHasDescriptor) != 0 && local_crc != 0 && local_crc != crc) return Copy();
    if ((current.flags & kHasDescriptor) != 0) {
      step = Step::kDescriptor;
      mark = held.size();
      need = kDescriptorSize;
      return {};
    }
    if (local_crc != crc) return Copy();
    return NextMember();
  }

  Expected<void> NextMember() {
    current.crc = static_cast<std::uint32_t>(crc);
    if (object) objects[*object].digest = hash.HexDigest();
    if (current.member.name == kMetadataMember) {
      metadata = held.substr(data_mark, current.member.size);
    } else if (current.member.name == kSignatureMember) {
      signature = held.substr(data_mark, current.member.size);
    }
    reads.push_back(std::move(current));
    current = {};
    object.reset();
    step = Step::kSignature;
    mark = held.size();
    need = 4;
    return {};
  }

  // Whether the central directory and its end record describe exactly the members read.
  [[nodiscard]] bool CentralDirectoryAgrees() const {
    const std::string_view central(held.data() + central_mark, held.size() - central_mark);
    std::size_t at = 0;
    for (const Read& read : reads) {
      if (central.size() - at < kCentralSize || U32(central, at) != kCentralHeader) return false;
      const std::string_view entry = central.substr(at);
      const std::size_t name_size = U16(entry, 28);
      const std::size_t extra_size = U16(entry, 30);
      const std::size_t length = kCentralSize + name_size + extra_size + U16(entry, 32);
      if (entry.size() < length) return false;
      if (U16(entry, 8) != read.flags || U16(entry, 10) != 0 || U32(entry, 16) != read.crc ||
          U32(entry, 20) != read.member.size || U32(entry, 24) != read.member.size ||
          entry.substr(kCentralSize, name_size) != read.member.name ||
          !KnownExtraFields(entry.substr(kCentralSize + name_size, extra_size)) ||
          U16(entry, 34) != 0 || U32(entry, 42) != read.header_offset ||
          !IsRegularFile(U16(entry, 4), U32(entry, 38))) {
        return false;
      }
      at += length;
    }
    if (central.size() - at != kEndSize) return false;  // no ZIP64 records, no comment
    const std::string_view end = central.substr(at);
    return U32(end, 0) == kEndOfCentral && U16(end, 4) == 0 && U16(end, 6) == 0 &&
           U16(end, 8) == reads.size() && U16(end, 10) == reads.size() && U32(end, 12) == at &&
           U32(end, 16) == central_offset && U16(end, 20) == 0;
  }

  // From now on the body goes to a file as it is: what was taken apart is put back in order.
  // Errors: kNoSpace, kIo (the file is the server's, whatever errno says: not kNotFound).
  Expected<void> Copy() {
    auto copied = CopyOut();
    if (!copied && copied.error().code() != Errc::kNoSpace) {
      return Fail(Errc::kIo, copied.error().message());
    }
    return copied;
  }

  Expected<void> CopyOut() {
    auto out = open_copy();
    if (!out) return std::unexpected(out.error());
    std::size_t at = 0;
    std::vector<std::byte> buffer;
    for (const Splice& splice : splices) {
      UH_TRY(WriteAll(*out, std::string_view(held).substr(at, splice.held_at - at)));
      at = splice.held_at;
      auto in = File::OpenRead(objects[splice.object].file.temp_path());
      if (!in) return std::unexpected(in.error());
      buffer.resize(kIoBufferSize);
      for (;;) {
        auto n = in->Read(buffer);
        if (!n) return std::unexpected(n.error());
        if (*n == 0) break;
        UH_TRY(WriteAll(*out, std::span(buffer).first(*n)));
      }
    }
    UH_TRY(WriteAll(*out, std::string_view(held).substr(at)));
    copy = std::move(*out);
    objects.clear();  // their files go
    splices.clear();
    held.clear();
    held.shrink_to_fit();
    return {};
  }
};

PackageStream::PackageStream(OpenObject open_object, OpenCopy open_copy, ReaderLimits limits)
    : state_(std::make_unique<State>()) {
  state_->open_object = std::move(open_object);
  state_->open_copy = std::move(open_copy);
  state_->limits = limits;
}

PackageStream::~PackageStream() = default;
PackageStream::PackageStream(PackageStream&&) noexcept = default;
PackageStream& PackageStream::operator=(PackageStream&&) noexcept = default;

Expected<void> PackageStream::Write(std::span<const std::byte> bytes) {
  State& s = *state_;
  while (!bytes.empty()) {
    if (s.copy) return WriteAll(*s.copy, bytes);
    if (s.step == State::Step::kData) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, bytes.size()));
      UH_TRY(s.Data(bytes.first(n)));
      bytes = bytes.subspan(n);
      continue;
    }
    const std::size_t n = std::min(s.need - (s.held.size() - s.mark), bytes.size());
    if (s.held.size() + n > kMaxHeld) {
      UH_TRY(s.Copy());
      continue;
    }
    s.held.append(reinterpret_cast<const char*>(bytes.data()), n);
    s.consumed += n;
    bytes = bytes.subspan(n);
    if (s.held.size() - s.mark == s.need) UH_TRY(s.Advance());
  }
  return {};
}

Expected<std::optional<PackageStream::Split>> PackageStream::Finish(
    const std::filesystem::path& label) {
  State& s = *state_;
  if (!s.copy && (s.step != State::Step::kCentral || !s.CentralDirectoryAgrees())) {
    UH_TRY(s.Copy());  // cut short, or not as expected: PackageReader says what is wrong
  }
  if (s.copy) {
    UH_TRY(s.copy->Close());
    return std::nullopt;
  }
  std::vector<Member> members;
  for (const State::Read& read : s.reads) members.push_back(read.member);
  auto reader = PackageReader::FromMembers(label, std::move(members), std::move(s.metadata),
                                           std::move(s.signature), s.consumed, s.limits);
  if (!reader) return std::unexpected(reader.error());
  return Split{std::move(*reader), std::move(s.objects)};
}

}  // namespace uh::package
