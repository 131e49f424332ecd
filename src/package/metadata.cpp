#include "package/metadata.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "core/hash.hpp"
#include "core/json.hpp"

namespace uh::package {
namespace {

using nlohmann::json;

constexpr std::array kModeNames = {
    std::pair{Mode::kCopy, "copy"},       std::pair{Mode::kFlash, "flash"},
    std::pair{Mode::kImxkobs, "imxkobs"}, std::pair{Mode::kMender, "mender"},
    std::pair{Mode::kRaw, "raw"},         std::pair{Mode::kRawDelta, "raw-delta"},
    std::pair{Mode::kTarball, "tarball"}, std::pair{Mode::kTest, "test"},
    std::pair{Mode::kUbifs, "ubifs"},     std::pair{Mode::kUbootEnv, "uboot-env"},
    std::pair{Mode::kZephyr, "zephyr"},
};

constexpr std::array kFilesystems = {"btrfs", "ext2",  "ext3",  "ext4", "vfat",
                                     "f2fs",  "jffs2", "ubifs", "xfs"};

std::optional<TargetType> ParseTargetType(std::string_view name) {
  if (name == "device") return TargetType::kDevice;
  if (name == "ubivolume") return TargetType::kUbiVolume;
  if (name == "mtdname") return TargetType::kMtdName;
  return std::nullopt;
}

Error FieldError(std::string_view key, const std::string& message) {
  return Error(Errc::kMalformed, "field '" + std::string(key) + "': " + message);
}

Error TypeError(std::string_view key, std::string_view expected, const json& value) {
  return FieldError(
      key, "expected " + std::string(expected) + ", got " + std::string(JsonTypeName(value)));
}

// --- typed field readers: each validates a JSON value and stores it in an Object member ----

template <auto Member>
Expected<void> ReadBool(std::string_view key, const json& value, Object& object) {
  if (!value.is_boolean()) return std::unexpected(TypeError(key, "boolean", value));
  object.*Member = value.get<bool>();
  return {};
}

template <auto Member, bool kNonEmpty = false>
Expected<void> ReadString(std::string_view key, const json& value, Object& object) {
  if (!value.is_string()) return std::unexpected(TypeError(key, "string", value));
  if (kNonEmpty && value.get_ref<const std::string&>().empty()) {
    return std::unexpected(FieldError(key, "must not be empty"));
  }
  object.*Member = value.get<std::string>();
  return {};
}

Expected<std::int64_t> ReadInteger(std::string_view key, const json& value, std::int64_t minimum) {
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return std::unexpected(FieldError(key, "is too large"));
    }
  } else if (!value.is_number_integer()) {
    return std::unexpected(TypeError(key, "integer", value));
  }
  const auto number = value.get<std::int64_t>();
  if (number < minimum) {
    return std::unexpected(FieldError(key, "must be at least " + std::to_string(minimum)));
  }
  return number;
}

template <auto Member, std::int64_t kMinimum = 0>
Expected<void> ReadUnsigned(std::string_view key, const json& value, Object& object) {
  auto number = ReadInteger(key, value, kMinimum);
  if (!number) return std::unexpected(number.error());
  object.*Member = static_cast<std::uint64_t>(*number);
  return {};
}

template <auto Member, std::int64_t kMinimum>
Expected<void> ReadSigned(std::string_view key, const json& value, Object& object) {
  auto number = ReadInteger(key, value, kMinimum);
  if (!number) return std::unexpected(number.error());
  object.*Member = *number;
  return {};
}

Expected<void> ReadTargetType(std::string_view key, const json& value, Object& object) {
  if (!value.is_string()) return std::unexpected(TypeError(key, "string", value));
  auto type = ParseTargetType(value.get_ref<const std::string&>());
  if (!type) return std::unexpected(FieldError(key, "must be device, ubivolume or mtdname"));
  object.target_type = type;
  return {};
}

Expected<void> ReadFilesystem(std::string_view key, const json& value, Object& object) {
  if (!value.is_string()) return std::unexpected(TypeError(key, "string", value));
  const auto& name = value.get_ref<const std::string&>();
  if (std::find(kFilesystems.begin(), kFilesystems.end(), name) == kFilesystems.end()) {
    return std::unexpected(FieldError(key, "unknown filesystem '" + name +
                                               "' (btrfs, ext2, ext3, ext4, vfat, f2fs, jffs2, "
                                               "ubifs, xfs)"));
  }
  object.filesystem = name;
  return {};
}

Expected<void> ReadTargetMode(std::string_view key, const json& value, Object& object) {
  if (!value.is_string()) return std::unexpected(TypeError(key, "string", value));
  const auto& mode = value.get_ref<const std::string&>();
  const bool ok = mode.size() == 4 && std::all_of(mode.begin(), mode.end(),
                                                  [](char c) { return c >= '0' && c <= '7'; });
  if (!ok) return std::unexpected(FieldError(key, "must be 4 octal digits such as \"0644\""));
  object.target_mode = mode;
  return {};
}

template <auto Member>
Expected<void> ReadOwner(std::string_view key, const json& value, Object& object) {
  if (value.is_string()) {
    object.*Member = Owner(value.get<std::string>());
    return {};
  }
  if (!value.is_number_integer())
    return std::unexpected(TypeError(key, "string or integer", value));
  auto id = ReadInteger(key, value, 0);
  if (!id) return std::unexpected(id.error());
  object.*Member = Owner(*id);
  return {};
}

Expected<void> ReadInstallIfDifferent(std::string_view key, const json& value, Object& object) {
  InstallIfDifferent condition;
  if (value.is_string()) {
    if (value.get_ref<const std::string&>() != "sha256sum") {
      return std::unexpected(FieldError(key, "the only string form is \"sha256sum\""));
    }
    object.install_if_different = condition;
    return {};
  }
  if (!value.is_object()) return std::unexpected(TypeError(key, "string or object", value));
  for (const auto& [name, item] : value.items()) {
    if (name != "version" && name != "pattern") {
      return std::unexpected(FieldError(key, "unknown key '" + name + "'"));
    }
  }
  if (!value.contains("version") || !value["version"].is_string()) {
    return std::unexpected(FieldError(key, "needs a string 'version'"));
  }
  condition.version = value["version"].get<std::string>();
  if (!value.contains("pattern")) return std::unexpected(FieldError(key, "needs a 'pattern'"));
  const json& pattern = value["pattern"];
  if (pattern.is_string()) {
    const auto& name = pattern.get_ref<const std::string&>();
    if (name == "linux-kernel") {
      condition.kind = InstallIfDifferent::Kind::kLinuxKernel;
    } else if (name == "u-boot") {
      condition.kind = InstallIfDifferent::Kind::kUBoot;
    } else {
      return std::unexpected(FieldError(key, "pattern must be linux-kernel, u-boot or an object"));
    }
    object.install_if_different = condition;
    return {};
  }
  if (!pattern.is_object()) {
    return std::unexpected(TypeError(std::string(key) + ".pattern", "string or object", pattern));
  }
  condition.kind = InstallIfDifferent::Kind::kCustomPattern;
  for (const auto& [name, item] : pattern.items()) {
    const std::string field = std::string(key) + ".pattern." + name;
    if (name == "regexp") {
      if (!item.is_string()) return std::unexpected(TypeError(field, "string", item));
      condition.regexp = item.get<std::string>();
    } else if (name == "seek") {
      auto seek = ReadInteger(field, item, 0);
      if (!seek) return std::unexpected(seek.error());
      condition.seek = *seek;
    } else if (name == "buffer-size") {
      auto size = ReadInteger(field, item, -1);
      if (!size) return std::unexpected(size.error());
      condition.buffer_size = *size;
    } else {
      return std::unexpected(FieldError(key, "unknown pattern key '" + name + "'"));
    }
  }
  if (!pattern.contains("regexp")) {
    return std::unexpected(FieldError(key, "a custom pattern needs a 'regexp'"));
  }
  object.install_if_different = condition;
  return {};
}

// --- writers, the inverse of the readers ---------------------------------------------------

json OwnerJson(const Owner& owner) {
  return std::visit([](const auto& v) { return json(v); }, owner);
}

json InstallIfDifferentJson(const InstallIfDifferent& condition) {
  using Kind = InstallIfDifferent::Kind;
  if (condition.kind == Kind::kSha256sum) return "sha256sum";
  json out = {{"version", condition.version}};
  if (condition.kind == Kind::kLinuxKernel) {
    out["pattern"] = "linux-kernel";
  } else if (condition.kind == Kind::kUBoot) {
    out["pattern"] = "u-boot";
  } else {
    json pattern = {{"regexp", condition.regexp}};
    if (condition.seek) pattern["seek"] = *condition.seek;
    if (condition.buffer_size) pattern["buffer-size"] = *condition.buffer_size;
    out["pattern"] = pattern;
  }
  return out;
}

template <typename T>
void Put(json& out, std::string_view key, const std::optional<T>& value) {
  if (value) out[std::string(key)] = *value;
}

// --- the field table and the per-mode schema -----------------------------------------------

using Reader = Expected<void> (*)(std::string_view, const json&, Object&);

struct Field {
  std::string_view key;
  Reader read;
};

constexpr std::array kFields = {
    Field{"filename", ReadString<&Object::filename, true>},
    Field{"size", ReadUnsigned<&Object::size>},
    Field{"sha256sum", nullptr},  // validated separately: a pattern
    Field{"compressed", ReadBool<&Object::compressed>},
    Field{"required-uncompressed-size", ReadUnsigned<&Object::required_uncompressed_size>},
    Field{"target-type", ReadTargetType},
    Field{"target", ReadString<&Object::target, true>},
    Field{"target-path", ReadString<&Object::target_path>},
    Field{"filesystem", ReadFilesystem},
    Field{"format?", ReadBool<&Object::format>},
    Field{"format-options", ReadString<&Object::format_options>},
    Field{"mount-options", ReadString<&Object::mount_options>},
    Field{"target-mode", ReadTargetMode},
    Field{"target-uid", ReadOwner<&Object::target_uid>},
    Field{"target-gid", ReadOwner<&Object::target_gid>},
    // chunk-size 0 would make a raw install loop forever; the upstream agent refuses it too.
    Field{"chunk-size", ReadUnsigned<&Object::chunk_size, 1>},
    Field{"skip", ReadUnsigned<&Object::skip>},
    Field{"seek", ReadUnsigned<&Object::seek>},
    Field{"count", ReadSigned<&Object::count, -1>},
    Field{"truncate", ReadBool<&Object::truncate>},
    Field{"install-if-different", ReadInstallIfDifferent},
    Field{"1k_padding", ReadBool<&Object::padding_1k>},
    Field{"search_exponent", ReadSigned<&Object::search_exponent, 0>},
    Field{"chip_0_device_path", ReadString<&Object::chip_0_device_path>},
    Field{"chip_1_device_path", ReadString<&Object::chip_1_device_path>},
    Field{"force-check-requirements-fail", ReadBool<&Object::force_check_requirements_fail>},
};

struct ModeSchema {
  std::vector<std::string_view> allowed;   // besides mode, filename, size, sha256sum
  std::vector<std::string_view> required;  // besides mode, filename, size, sha256sum
  std::vector<TargetType> target_types;
};

const ModeSchema& SchemaOf(Mode mode) {
  using T = TargetType;
  static const std::map<Mode, ModeSchema> kSchemas = {
      {Mode::kCopy,
       {{"install-if-different", "target-type", "target-mode", "target-uid", "target-gid", "target",
         "compressed", "required-uncompressed-size", "filesystem", "target-path", "format?",
         "format-options", "mount-options"},
        {"filesystem", "target-type", "target", "target-path"},
        {T::kDevice}}},
      {Mode::kTarball,
       {{"target-type", "target", "compressed", "required-uncompressed-size", "filesystem",
         "target-path", "format?", "format-options", "mount-options"},
        {"filesystem", "target-type", "target", "target-path"},
        {T::kDevice, T::kMtdName, T::kUbiVolume}}},
      {Mode::kRaw,
       {{"install-if-different", "target-type", "target", "compressed",
         "required-uncompressed-size", "chunk-size", "skip", "seek", "count", "truncate"},
        {"target-type", "target"},
        {T::kDevice}}},
      {Mode::kFlash,
       {{"install-if-different", "target-type", "target"},
        {"target-type", "target"},
        {T::kDevice, T::kMtdName}}},
      {Mode::kUbifs,
       {{"target-type", "target", "compressed", "required-uncompressed-size"},
        {"target-type", "target"},
        {T::kUbiVolume}}},
      {Mode::kImxkobs,
       {{"1k_padding", "search_exponent", "chip_0_device_path", "chip_1_device_path",
         "install-if-different"},
        {},
        {}}},
      {Mode::kRawDelta,
       {{"target-type", "target", "chunk-size", "seek"}, {"target-type", "target"}, {T::kDevice}}},
      {Mode::kUbootEnv, {{}, {}, {}}},
      {Mode::kMender, {{}, {}, {}}},
      {Mode::kZephyr, {{}, {}, {}}},
      {Mode::kTest, {{"target-type", "target", "force-check-requirements-fail"}, {}, {T::kDevice}}},
  };
  return kSchemas.at(mode);
}

bool Contains(const std::vector<std::string_view>& keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Expected<void> CheckDependencies(const Object& object) {
  if (object.format_options && !object.format.value_or(false)) {
    return Fail(Errc::kMalformed, "field 'format-options' requires \"format?\": true");
  }
  if (object.target_uid.has_value() != object.target_gid.has_value()) {
    return Fail(Errc::kMalformed, "fields 'target-uid' and 'target-gid' go together");
  }
  if (object.mode == Mode::kUbifs && object.required_uncompressed_size &&
      object.compressed == false) {
    return Fail(Errc::kMalformed,
                "field 'required-uncompressed-size' requires \"compressed\": true in ubifs mode");
  }
  if (object.target_type) {
    const auto& allowed = SchemaOf(object.mode).target_types;
    if (std::find(allowed.begin(), allowed.end(), *object.target_type) == allowed.end()) {
      return Fail(Errc::kMalformed,
                  "field 'target-type': " + std::string(TargetTypeName(*object.target_type)) +
                      " is not allowed in " + std::string(ModeName(object.mode)) + " mode");
    }
  }
  return {};
}

}  // namespace

std::string_view ModeName(Mode mode) {
  for (const auto& [value, name] : kModeNames) {
    if (value == mode) return name;
  }
  return "unknown";
}

std::optional<Mode> ParseMode(std::string_view name) {
  for (const auto& [value, mode_name] : kModeNames) {
    if (name == mode_name) return value;
  }
  return std::nullopt;
}

std::string_view TargetTypeName(TargetType type) {
  switch (type) {
    case TargetType::kDevice:
      return "device";
    case TargetType::kUbiVolume:
      return "ubivolume";
    case TargetType::kMtdName:
      return "mtdname";
  }
  return "unknown";
}

std::uint64_t Object::InstalledSize() const {
  if (IsCompressed() && required_uncompressed_size) return *required_uncompressed_size;
  return size;
}

bool Metadata::SupportsHardware(std::string_view hardware) const {
  if (!supported_hardware) return true;
  return std::find(supported_hardware->begin(), supported_hardware->end(), hardware) !=
         supported_hardware->end();
}

std::vector<const Object*> Metadata::DistinctObjects() const {
  std::vector<const Object*> out;
  std::set<std::string_view> seen;
  for (const auto& set : sets) {
    for (const auto& object : set) {
      if (seen.insert(object.sha256sum).second) out.push_back(&object);
    }
  }
  return out;
}

Expected<Object> ObjectFromJson(const json& value) {
  if (!value.is_object()) return std::unexpected(TypeError("object", "object", value));
  if (!value.contains("mode")) return Fail(Errc::kMalformed, "field 'mode' is missing");
  if (!value["mode"].is_string())
    return std::unexpected(TypeError("mode", "string", value["mode"]));
  const auto& mode_name = value["mode"].get_ref<const std::string&>();
  auto mode = ParseMode(mode_name);
  if (!mode)
    return Fail(Errc::kMalformed, "field 'mode': unknown install mode '" + mode_name + "'");

  Object object;
  object.mode = *mode;
  const ModeSchema& schema = SchemaOf(*mode);
  for (const auto& [key, item] : value.items()) {
    if (key == "mode") continue;
    const bool common = key == "filename" || key == "size" || key == "sha256sum";
    if (!common && !Contains(schema.allowed, key)) {
      return Fail(Errc::kMalformed, "field '" + key + "' is not allowed in " + mode_name + " mode");
    }
    if (key == "sha256sum") {
      if (!item.is_string()) return std::unexpected(TypeError(key, "string", item));
      if (!IsLowerHexSha256(item.get_ref<const std::string&>())) {
        return Fail(Errc::kMalformed, "field 'sha256sum': must be 64 lowercase hex digits");
      }
      object.sha256sum = item.get<std::string>();
      continue;
    }
    const auto field =
        std::find_if(kFields.begin(), kFields.end(), [&](const Field& f) { return f.key == key; });
    UH_TRY(field->read(key, item, object));
  }
  for (std::string_view key : {"filename", "size", "sha256sum"}) {
    if (!value.contains(key)) {
      return Fail(Errc::kMalformed, "field '" + std::string(key) + "' is missing");
    }
  }
  for (std::string_view key : schema.required) {
    if (!value.contains(key)) {
      return Fail(Errc::kMalformed,
                  "field '" + std::string(key) + "' is required in " + mode_name + " mode");
    }
  }
  UH_TRY(CheckDependencies(object));
  return object;
}

Expected<Metadata> MetadataFromJson(const json& value) {
  if (!value.is_object()) return std::unexpected(TypeError("metadata", "object", value));
  for (const auto& [key, item] : value.items()) {
    if (key != "product" && key != "version" && key != "supported-hardware" && key != "objects") {
      return Fail(Errc::kMalformed, "unknown field '" + key + "'");
    }
  }
  for (std::string_view key : {"product", "version", "supported-hardware", "objects"}) {
    if (!value.contains(key)) {
      return Fail(Errc::kMalformed, "field '" + std::string(key) + "' is missing");
    }
  }
  Metadata metadata;
  const json& product = value["product"];
  if (!product.is_string()) return std::unexpected(TypeError("product", "string", product));
  if (!IsLowerHexSha256(product.get_ref<const std::string&>())) {
    return Fail(Errc::kMalformed, "field 'product': must be 64 lowercase hex digits");
  }
  metadata.product = product.get<std::string>();

  const json& version = value["version"];
  if (!version.is_string()) return std::unexpected(TypeError("version", "string", version));
  if (version.get_ref<const std::string&>().empty()) {
    return Fail(Errc::kMalformed, "field 'version': must not be empty");
  }
  metadata.version = version.get<std::string>();

  const json& hardware = value["supported-hardware"];
  if (hardware.is_string()) {
    if (hardware.get_ref<const std::string&>() != "any") {
      return Fail(Errc::kMalformed,
                  "field 'supported-hardware': must be \"any\" or a list of hardware names");
    }
  } else if (hardware.is_array()) {
    if (hardware.empty()) {
      return Fail(Errc::kMalformed, "field 'supported-hardware': the list must not be empty");
    }
    std::vector<std::string> names;
    for (const auto& name : hardware) {
      if (!name.is_string()) {
        return std::unexpected(TypeError("supported-hardware[]", "string", name));
      }
      if (std::find(names.begin(), names.end(), name.get<std::string>()) != names.end()) {
        return Fail(Errc::kMalformed, "field 'supported-hardware': '" + name.get<std::string>() +
                                          "' is listed twice");
      }
      names.push_back(name.get<std::string>());
    }
    metadata.supported_hardware = std::move(names);
  } else {
    return std::unexpected(TypeError("supported-hardware", "\"any\" or array", hardware));
  }

  const json& sets = value["objects"];
  if (!sets.is_array()) return std::unexpected(TypeError("objects", "array", sets));
  if (sets.empty() || sets.size() > 2) {
    return Fail(Errc::kMalformed, "field 'objects': must hold 1 or 2 installation sets, not " +
                                      std::to_string(sets.size()));
  }
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const std::string where = "objects[" + std::to_string(s) + "]";
    if (!sets[s].is_array()) return std::unexpected(TypeError(where, "array", sets[s]));
    if (sets[s].empty()) return Fail(Errc::kMalformed, where + ": an installation set is empty");
    auto& set = metadata.sets.emplace_back();
    for (std::size_t i = 0; i < sets[s].size(); ++i) {
      auto object = ObjectFromJson(sets[s][i]);
      if (!object) {
        return std::unexpected(object.error().WithContext(where + "[" + std::to_string(i) + "]"));
      }
      set.push_back(std::move(*object));
    }
  }
  std::map<std::string_view, std::uint64_t> sizes;
  for (const auto& set : metadata.sets) {
    for (const auto& object : set) {
      auto [it, inserted] = sizes.emplace(object.sha256sum, object.size);
      if (!inserted && it->second != object.size) {
        return Fail(Errc::kMalformed, "field 'objects': object " + object.sha256sum +
                                          " is declared with two different sizes");
      }
    }
  }
  if (metadata.sets.size() == 2) {
    auto names = [](const std::vector<Object>& set) {
      std::vector<std::string_view> out;
      for (const auto& object : set) out.push_back(object.filename);
      return out;
    };
    if (names(metadata.sets[0]) != names(metadata.sets[1])) {
      return Fail(Errc::kMalformed,
                  "field 'objects': the two installation sets must list the same filenames in "
                  "the same order");
    }
  }
  return metadata;
}

Expected<Metadata> ParseMetadata(std::string_view bytes) {
  auto json = ParseJson(bytes, {.max_depth = 8, .max_bytes = 1024 * 1024});
  if (!json) return std::unexpected(json.error());
  return MetadataFromJson(*json);
}

json ToJson(const Object& object) {
  json out = {{"mode", ModeName(object.mode)},
              {"filename", object.filename},
              {"size", object.size},
              {"sha256sum", object.sha256sum}};
  Put(out, "compressed", object.compressed);
  Put(out, "required-uncompressed-size", object.required_uncompressed_size);
  if (object.target_type) out["target-type"] = TargetTypeName(*object.target_type);
  Put(out, "target", object.target);
  Put(out, "target-path", object.target_path);
  Put(out, "filesystem", object.filesystem);
  Put(out, "format?", object.format);
  Put(out, "format-options", object.format_options);
  Put(out, "mount-options", object.mount_options);
  Put(out, "target-mode", object.target_mode);
  if (object.target_uid) out["target-uid"] = OwnerJson(*object.target_uid);
  if (object.target_gid) out["target-gid"] = OwnerJson(*object.target_gid);
  Put(out, "chunk-size", object.chunk_size);
  Put(out, "skip", object.skip);
  Put(out, "seek", object.seek);
  Put(out, "count", object.count);
  Put(out, "truncate", object.truncate);
  if (object.install_if_different) {
    out["install-if-different"] = InstallIfDifferentJson(*object.install_if_different);
  }
  Put(out, "1k_padding", object.padding_1k);
  Put(out, "search_exponent", object.search_exponent);
  Put(out, "chip_0_device_path", object.chip_0_device_path);
  Put(out, "chip_1_device_path", object.chip_1_device_path);
  Put(out, "force-check-requirements-fail", object.force_check_requirements_fail);
  return out;
}

json ToJson(const Metadata& metadata) {
  json sets = json::array();
  for (const auto& set : metadata.sets) {
    json objects = json::array();
    for (const auto& object : set) objects.push_back(ToJson(object));
    sets.push_back(std::move(objects));
  }
  json out = {{"product", metadata.product}, {"version", metadata.version}, {"objects", sets}};
  if (metadata.supported_hardware) {
    out["supported-hardware"] = *metadata.supported_hardware;
  } else {
    out["supported-hardware"] = "any";
  }
  return out;
}

std::string SerializeMetadata(const Metadata& metadata) {
  return PythonJsonDumps(ToJson(metadata));
}

}  // namespace uh::package
