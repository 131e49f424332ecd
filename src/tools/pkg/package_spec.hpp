#pragma once

// What `updatehub-pkg create` is asked to build: product, version, hardware and object
// descriptions, from command-line SPECs or a JSON/TOML description file, turned into validated
// metadata whose computed fields (size, sha256sum, compressed, required-uncompressed-size) come
// from the files themselves. The metadata is ordered as upstream's uhu orders it, so that the
// same inputs give the same bytes (the same package UID and signature) with either tool.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "package/metadata.hpp"

namespace uh::tools {

struct ObjectSpec {
  std::filesystem::path file;
  nlohmann::json fields = nlohmann::json::object();    // mode and options for set A
  nlohmann::json b_fields = nlohmann::json::object();  // overrides for set B (may hold "file")
};

struct PackageSpec {
  std::string product;
  std::string version;
  // nullopt: "any". Any order, repeats allowed: the metadata lists each name once, sorted.
  std::optional<std::vector<std::string>> hardware;
  bool single_set = false;
  std::vector<ObjectSpec> objects;  // any order: the metadata sorts them by file name
};

// "FILE,key=value,...,b.key=value": the first item without '=' (or file=PATH) is the file; keys
// are metadata field names ("format" may stand for "format?"); "b." keys apply to set B only;
// "\," is a literal comma. Values are typed by field: "true"/"false", integers, or strings.
[[nodiscard]] Expected<ObjectSpec> ParseObjectSpec(std::string_view text);

// A description file, JSON or TOML (chosen by extension, .toml or anything else for JSON), with
// keys product, version, supported-hardware, single-set and objects (a list of tables with file,
// mode, options and an optional "b" table). Relative paths are relative to the file.
[[nodiscard]] Expected<PackageSpec> LoadPackageSpec(const std::filesystem::path& path);

struct BuiltPackage {
  package::Metadata metadata;
  // Each distinct object once, in the metadata's order: its sha256 and the file that holds it.
  std::vector<std::pair<std::string, std::filesystem::path>> files;
  std::uint64_t total_size = 0;
};

// The bytes BuildPackage hashes: the sizes of the distinct input files (set B files included).
// A file that cannot be read counts 0; BuildPackage reports it.
[[nodiscard]] std::uint64_t InputBytes(const PackageSpec& spec);

// Hashes the files, fills in computed fields and uhu's defaults, orders the result as uhu does
// and validates it. uhu's order: the objects sorted by the file name of their set A entry
// (byte-wise, stable: objects with the same name keep the order given; each set B entry stays
// at the position of its set A entry), the hardware names sorted with repeats dropped (an empty
// list is "any"). `progress` gets the bytes hashed so far, up to InputBytes(spec).
[[nodiscard]] Expected<BuiltPackage> BuildPackage(const PackageSpec& spec,
                                                  const ProgressFn& progress = {});

}  // namespace uh::tools
