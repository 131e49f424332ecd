#include "tools/pkg/package_spec.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/fs.hpp"
#include "core/json.hpp"
#include "package/compression.hpp"

namespace uh::tools {
namespace {

using nlohmann::json;
using package::Mode;

constexpr std::array kBoolKeys = {"compressed", "format?", "truncate", "1k_padding",
                                  "force-check-requirements-fail"};
constexpr std::array kIntKeys = {
    "required-uncompressed-size", "chunk-size", "skip", "seek", "count", "search_exponent"};
constexpr std::array kComputedKeys = {"size", "sha256sum"};

template <std::size_t N>
bool In(const std::array<const char*, N>& keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::optional<std::int64_t> ToInteger(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Gives a command-line string the JSON type its field has in the metadata.
Expected<json> TypedValue(std::string_view key, std::string_view text) {
  if (In(kBoolKeys, key)) {
    if (text == "true" || text == "yes" || text == "1") return json(true);
    if (text == "false" || text == "no" || text == "0") return json(false);
    return Fail(Errc::kInvalidArgument, "'" + std::string(key) + "' must be true or false");
  }
  if (In(kIntKeys, key)) {
    auto value = ToInteger(text);
    if (!value)
      return Fail(Errc::kInvalidArgument, "'" + std::string(key) + "' must be an integer");
    return json(*value);
  }
  if (key == "target-uid" || key == "target-gid") {
    if (auto id = ToInteger(text)) return json(*id);
    return json(std::string(text));
  }
  if (key == "install-if-different" && text.starts_with('{')) {
    return ParseJson(text);
  }
  return json(std::string(text));
}

std::string CanonicalKey(std::string_view key) {
  if (key == "format") return "format?";
  return std::string(key);
}

Expected<void> CheckUserKey(std::string_view key) {
  if (In(kComputedKeys, key)) {
    return Fail(Errc::kInvalidArgument,
                "'" + std::string(key) + "' is computed from the file and cannot be given");
  }
  return {};
}

std::vector<std::string> SplitUnescaped(std::string_view text, char separator) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == separator) {
      parts.back().push_back(separator);
      ++i;
    } else if (text[i] == separator) {
      parts.emplace_back();
    } else {
      parts.back().push_back(text[i]);
    }
  }
  return parts;
}

Expected<json> TomlToJson(const toml::node& node) {
  if (auto* table = node.as_table()) {
    json out = json::object();
    for (const auto& [key, value] : *table) {
      auto converted = TomlToJson(value);
      if (!converted) return converted;
      out[std::string(key.str())] = std::move(*converted);
    }
    return out;
  }
  if (auto* array = node.as_array()) {
    json out = json::array();
    for (const auto& value : *array) {
      auto converted = TomlToJson(value);
      if (!converted) return converted;
      out.push_back(std::move(*converted));
    }
    return out;
  }
  if (auto* text = node.as_string()) return json(text->get());
  if (auto* integer = node.as_integer()) return json(integer->get());
  if (auto* boolean = node.as_boolean()) return json(boolean->get());
  return Fail(Errc::kInvalidArgument, "unsupported TOML value (floats and dates are not fields)");
}

Expected<ObjectSpec> ObjectSpecFromJson(const json& value, const std::filesystem::path& base) {
  if (!value.is_object()) return Fail(Errc::kInvalidArgument, "an object must be a table");
  ObjectSpec spec;
  for (const auto& [raw_key, item] : value.items()) {
    const std::string key = CanonicalKey(raw_key);
    if (key == "file") {
      if (!item.is_string()) return Fail(Errc::kInvalidArgument, "'file' must be a string");
      spec.file = base / item.get<std::string>();
    } else if (key == "b") {
      if (!item.is_object()) return Fail(Errc::kInvalidArgument, "'b' must be a table");
      for (const auto& [b_key, b_item] : item.items()) {
        UH_TRY(CheckUserKey(b_key));
        if (b_key == "file") {
          if (!b_item.is_string()) return Fail(Errc::kInvalidArgument, "'file' must be a string");
          spec.b_fields["file"] = (base / b_item.get<std::string>()).string();
        } else {
          spec.b_fields[CanonicalKey(b_key)] = b_item;
        }
      }
    } else {
      UH_TRY(CheckUserKey(key));
      spec.fields[key] = item;
    }
  }
  if (spec.file.empty()) return Fail(Errc::kInvalidArgument, "an object has no 'file'");
  return spec;
}

// Fills computed fields and uhu's defaults into one object's fields.
Expected<void> Complete(json& fields, const std::filesystem::path& file, const FileDigest& digest) {
  if (!fields.contains("mode")) {
    return Fail(Errc::kInvalidArgument, "no mode given (mode=raw, copy, tarball, ...)");
  }
  const auto mode = fields["mode"].is_string()
                        ? package::ParseMode(fields["mode"].get<std::string>())
                        : std::nullopt;
  if (!mode) return Fail(Errc::kInvalidArgument, "unknown mode " + fields["mode"].dump());
  if (!fields.contains("filename")) fields["filename"] = file.filename().string();
  fields["size"] = digest.size;
  fields["sha256sum"] = digest.sha256;

  auto set_default = [&](const char* key, json value) {
    if (!fields.contains(key)) fields[key] = std::move(value);
  };
  switch (*mode) {
    case Mode::kRaw:
      set_default("target-type", "device");
      set_default("chunk-size", package::kDefaultChunkSize);
      set_default("skip", 0);
      set_default("seek", 0);
      set_default("count", -1);
      set_default("truncate", false);
      break;
    case Mode::kCopy:
    case Mode::kTarball:
      set_default("target-type", "device");
      set_default("format?", false);
      break;
    case Mode::kUbifs:
      set_default("target-type", "ubivolume");
      break;
    case Mode::kRawDelta:
      set_default("target-type", "device");
      break;
    default:
      break;
  }
  // Modes whose installer decompresses: detect compression from the file's magic bytes.
  if (*mode == Mode::kRaw || *mode == Mode::kCopy || *mode == Mode::kUbifs) {
    if (!fields.contains("compressed")) {
      auto compression = package::DetectFileCompression(file);
      if (!compression) return std::unexpected(compression.error());
      if (*compression != package::Compression::kNone) fields["compressed"] = true;
    }
    const bool compressed = fields.contains("compressed") && fields["compressed"].is_boolean() &&
                            fields["compressed"].get<bool>();
    if (compressed && !fields.contains("required-uncompressed-size")) {
      auto size = package::UncompressedSize(file);
      if (!size) return std::unexpected(size.error());
      fields["required-uncompressed-size"] = *size;
    }
  }
  return {};
}

// A broken image file (say, a truncated .gz) is a mistake in the tool's input, not a malformed
// package: report it as such.
Expected<void> AsInputError(Expected<void> result) {
  if (!result && result.error().code() == Errc::kMalformed) {
    return Fail(Errc::kInvalidArgument, result.error().message());
  }
  return result;
}

// Validates one object as the metadata schema would, so that errors name the object's file.
Expected<void> CheckObject(const json& fields) {
  auto object = package::ObjectFromJson(fields);
  if (!object) return Fail(Errc::kInvalidArgument, object.error().message());
  return {};
}

// The file of an object's set B entry, when it has its own.
std::optional<std::filesystem::path> SetBFile(const ObjectSpec& object) {
  if (!object.b_fields.contains("file") || !object.b_fields["file"].is_string())
    return std::nullopt;
  return std::filesystem::path(object.b_fields["file"].get<std::string>());
}

// One object: its set A entry and, with two sets, its set B entry.
struct ObjectRow {
  json a;
  std::optional<json> b;
};

// uhu keeps an object's entries of both sets together and sorts the objects by the file name of
// the first set's entry (Python's stable sort of str, code point order: for UTF-8 the same as
// byte order, which std::string's comparison is).
void SortLikeUhu(std::vector<ObjectRow>& rows) {
  auto name = [](const ObjectRow& row) -> std::string_view {
    const auto it = row.a.find("filename");  // a string once CheckObject accepted the entry
    if (it == row.a.end() || !it->is_string()) return {};
    return it->get_ref<const std::string&>();
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const ObjectRow& x, const ObjectRow& y) { return name(x) < name(y); });
}

// uhu keeps supported hardware as a set and writes it sorted, "any" when it is empty.
json HardwareLikeUhu(const std::optional<std::vector<std::string>>& hardware) {
  if (!hardware || hardware->empty()) return "any";
  std::vector<std::string> names = *hardware;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

Expected<ObjectSpec> ParseObjectSpec(std::string_view text) {
  ObjectSpec spec;
  for (const std::string& item : SplitUnescaped(text, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (!spec.file.empty()) {
        return Fail(Errc::kInvalidArgument,
                    "object spec has two files: '" + spec.file.string() + "' and '" + item + "'");
      }
      spec.file = item;
      continue;
    }
    std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    json* target = &spec.fields;
    if (key.starts_with("b.")) {
      key.erase(0, 2);
      target = &spec.b_fields;
    }
    key = CanonicalKey(key);
    if (key == "file") {
      if (target == &spec.fields) {
        if (!spec.file.empty()) {
          return Fail(Errc::kInvalidArgument, "object spec has two files: '" + spec.file.string() +
                                                  "' and '" + value + "'");
        }
        spec.file = value;
      } else {
        (*target)["file"] = value;
      }
      continue;
    }
    UH_TRY(CheckUserKey(key));
    auto typed = TypedValue(key, value);
    if (!typed) return std::unexpected(typed.error());
    (*target)[key] = std::move(*typed);
  }
  if (spec.file.empty()) {
    return Fail(Errc::kInvalidArgument, "object spec names no file: '" + std::string(text) + "'");
  }
  return spec;
}

Expected<PackageSpec> LoadPackageSpec(const std::filesystem::path& path) {
  auto text = ReadFileLimited(path, 1024 * 1024);
  if (!text) return std::unexpected(text.error());
  json document;
  if (path.extension() == ".toml") {
    try {
      auto table = toml::parse(*text, path.string());
      auto converted = TomlToJson(table);
      if (!converted) return std::unexpected(converted.error().WithContext(path.string()));
      document = std::move(*converted);
    } catch (const toml::parse_error& e) {
      return Fail(Errc::kInvalidArgument, path.string() + ":" +
                                              std::to_string(e.source().begin.line) + ": " +
                                              std::string(e.description()));
    }
  } else {
    auto parsed = ParseJson(*text);
    if (!parsed) return std::unexpected(parsed.error().WithContext(path.string()));
    document = std::move(*parsed);
  }
  if (!document.is_object()) {
    return Fail(Errc::kInvalidArgument, path.string() + ": the description must be a table");
  }
  PackageSpec spec;
  const auto base = path.parent_path();
  for (const auto& [key, value] : document.items()) {
    auto fail = [&](const std::string& message) {
      return Fail(Errc::kInvalidArgument, path.string() + ": '" + key + "' " + message);
    };
    if (key == "product" || key == "version") {
      if (!value.is_string()) return fail("must be a string");
      (key == "product" ? spec.product : spec.version) = value.get<std::string>();
    } else if (key == "supported-hardware" || key == "hardware") {
      if (value.is_string() && value.get<std::string>() == "any") continue;
      if (!value.is_array()) return fail("must be \"any\" or a list of names");
      spec.hardware.emplace();
      for (const auto& name : value) {
        if (!name.is_string()) return fail("must hold strings");
        spec.hardware->push_back(name.get<std::string>());
      }
    } else if (key == "single-set") {
      if (!value.is_boolean()) return fail("must be true or false");
      spec.single_set = value.get<bool>();
    } else if (key == "objects") {
      if (!value.is_array()) return fail("must be a list of tables");
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto object = ObjectSpecFromJson(value[i], base);
        if (!object) {
          return std::unexpected(
              object.error().WithContext(path.string() + ": objects[" + std::to_string(i) + "]"));
        }
        spec.objects.push_back(std::move(*object));
      }
    } else {
      return fail(
          "is not a known key (product, version, supported-hardware, single-set, "
          "objects)");
    }
  }
  return spec;
}

std::uint64_t InputBytes(const PackageSpec& spec) {
  std::set<std::filesystem::path> files;
  for (const ObjectSpec& object : spec.objects) {
    files.insert(object.file);
    if (auto b_file = SetBFile(object); b_file && !spec.single_set) files.insert(*b_file);
  }
  std::uint64_t total = 0;
  for (const auto& file : files) {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    if (!error) total += size;
  }
  return total;
}

Expected<BuiltPackage> BuildPackage(const PackageSpec& spec, const ProgressFn& progress) {
  if (spec.objects.empty()) return Fail(Errc::kInvalidArgument, "no objects given");
  std::map<std::filesystem::path, FileDigest> digests;   // each file hashed once
  std::map<std::string, std::filesystem::path> holders;  // a file holding each sha256
  std::uint64_t hashed = 0;
  auto digest_of = [&](const std::filesystem::path& file) -> Expected<FileDigest> {
    if (auto it = digests.find(file); it != digests.end()) return it->second;
    auto digest = Sha256File(file, [&](std::uint64_t done) {
      if (progress) progress(hashed + done);
    });
    if (!digest) return std::unexpected(digest.error());
    hashed += digest->size;
    holders.emplace(digest->sha256, file);
    digests.emplace(file, *digest);
    return *digest;
  };

  std::vector<ObjectRow> rows;
  for (std::size_t i = 0; i < spec.objects.size(); ++i) {
    const ObjectSpec& object = spec.objects[i];
    const std::string where = "object " + std::to_string(i + 1) + " (" + object.file.string() + ")";
    ObjectRow row{.a = object.fields, .b = std::nullopt};
    json& a = row.a;
    auto digest = digest_of(object.file);
    if (!digest) return std::unexpected(digest.error().WithContext(where));
    UH_TRY_CTX(AsInputError(Complete(a, object.file, *digest)), where);
    UH_TRY_CTX(CheckObject(a), where);
    if (spec.single_set) {
      if (!object.b_fields.empty()) {
        return Fail(Errc::kInvalidArgument, where + ": set B options given with --single-set");
      }
      rows.push_back(std::move(row));
      continue;
    }
    json b = object.fields;
    b["filename"] = a["filename"];
    for (const auto& [key, value] : object.b_fields.items()) {
      if (key != "file") b[key] = value;
    }
    const std::filesystem::path b_file = SetBFile(object).value_or(object.file);
    auto b_digest = digest_of(b_file);
    if (!b_digest) return std::unexpected(b_digest.error().WithContext(where + " set B"));
    UH_TRY_CTX(AsInputError(Complete(b, b_file, *b_digest)), where + " set B");
    UH_TRY_CTX(CheckObject(b), where + " set B");
    row.b = std::move(b);
    rows.push_back(std::move(row));
  }
  SortLikeUhu(rows);

  json sets = json::array({json::array()});
  if (!spec.single_set) sets.push_back(json::array());
  for (ObjectRow& row : rows) {
    sets[0].push_back(std::move(row.a));
    if (row.b) sets[1].push_back(std::move(*row.b));
  }
  json document = {{"product", spec.product}, {"version", spec.version}, {"objects", sets}};
  document["supported-hardware"] = HardwareLikeUhu(spec.hardware);
  auto metadata = package::MetadataFromJson(document);
  if (!metadata) {
    auto error = metadata.error();
    return Fail(Errc::kInvalidArgument, "the package would be invalid: " + error.message());
  }
  BuiltPackage built;
  built.metadata = std::move(*metadata);
  for (const package::Object* object : built.metadata.DistinctObjects()) {
    built.files.emplace_back(object->sha256sum, holders.at(object->sha256sum));
    built.total_size += object->size;
  }
  return built;
}

}  // namespace uh::tools
