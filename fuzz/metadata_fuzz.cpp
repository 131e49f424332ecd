// ParseMetadata on untrusted bytes (a package's metadata member, a probe reply's body). When
// the bytes are valid metadata, the canonical form must be a fixed point: serialising, parsing
// and serialising again gives the same bytes, so a package we write reads back as written.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "package/metadata.hpp"
#include "package/package_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto metadata = uh::package::ParseMetadata(bytes);
  if (!metadata) return 0;
  // The signed bytes must be JSON and nothing else: other parsers (uhu, the upstream agents)
  // refuse a NUL byte, so accepting one lets a package mean different things to different readers.
  UH_FUZZ_CHECK(bytes.find('\0') == std::string_view::npos,
                "ParseMetadata accepted bytes containing a NUL byte");

  // Exercise the accessors a device uses on parsed metadata.
  for (const auto* object : metadata->DistinctObjects()) {
    (void)object->InstalledSize();
    (void)object->ChunkSize();
  }
  (void)metadata->SupportsHardware("board");

  const std::string canonical = uh::package::SerializeMetadata(*metadata);
  // Escaping non-ASCII text can make the canonical form larger than the 1 MiB readers accept;
  // updatehub-pkg create refuses to write such metadata, so only smaller forms must round-trip.
  if (canonical.size() > uh::package::ReaderLimits{}.max_metadata_bytes) return 0;
  auto reparsed = uh::package::ParseMetadata(canonical);
  if (!reparsed) std::fprintf(stderr, "reparse error: %s\n", reparsed.error().message().c_str());
  UH_FUZZ_CHECK(reparsed.has_value(), "serialised metadata does not parse");
  UH_FUZZ_CHECK(uh::package::SerializeMetadata(*reparsed) == canonical,
                "SerializeMetadata(ParseMetadata(SerializeMetadata(m))) changed");
  return 0;
}
