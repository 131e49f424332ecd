#include "agent/device/firmware_metadata.hpp"

#include <algorithm>
#include <cstdint>
#include <system_error>

#include "agent/device/ini.hpp"
#include "agent/device/script_runner.hpp"

namespace uh::agent {

using device_internal::RunScriptForOutput;
using device_internal::ScriptOptions;
using device_internal::Trim;

namespace {

namespace fs = std::filesystem;

ScriptOptions ToScriptOptions(const MetadataOptions& options) {
  ScriptOptions script;
  script.timeout = options.timeout;
  script.output_limit = options.output_limit;
  return script;
}

// "product-uid" or "device-identity.d/10-mac": how messages name a script.
std::string ScriptName(const fs::path& dir, const fs::path& script) {
  return script.lexically_relative(dir).string();
}

Expected<std::string> RunSingleValue(const fs::path& dir, std::string_view name,
                                     const MetadataOptions& options) {
  const auto script = dir / name;
  auto output = RunScriptForOutput({script.string()}, ToScriptOptions(options));
  if (!output) return std::unexpected(std::move(output.error()).WithContext(name));
  return std::string(Trim(*output));
}

Expected<void> CheckProductUid(const std::string& uid) {
  const bool hex = uid.size() == 64 && std::ranges::all_of(uid, [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (hex) return {};
  const std::string shown = uid.size() > 80 ? uid.substr(0, 80) + "..." : uid;
  return Fail(Errc::kMalformed,
              "product-uid: printed '" + shown + "', not 64 lowercase hex characters");
}

// The executables of a .d directory in name order; hidden files are skipped, anything else
// that is not an executable file is an error.
Expected<std::vector<fs::path>> ListScripts(const fs::path& dir) {
  std::vector<fs::path> scripts;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const auto name = it->path().filename().string();
    if (name.starts_with(".")) continue;
    scripts.push_back(it->path());
  }
  if (error) return Fail(Errc::kIo, "listing " + dir.string() + ": " + error.message());
  std::ranges::sort(scripts);
  return scripts;
}

Expected<MetadataValues> RunScriptsOf(const fs::path& metadata_dir, std::string_view subdir,
                                      bool required, const MetadataOptions& options) {
  const auto dir = metadata_dir / subdir;
  std::error_code error;
  const bool is_dir = fs::is_directory(dir, error);
  if (!is_dir) {
    if (!required && !fs::exists(dir, error)) return MetadataValues{};
    return Fail(Errc::kNotFound,
                dir.string() + " is not a directory" + (required ? " (it is required)" : ""));
  }
  auto scripts = ListScripts(dir);
  if (!scripts) return std::unexpected(std::move(scripts.error()));
  if (required && scripts->empty()) {
    return Fail(Errc::kNotFound, dir.string() + " has no scripts (at least one is required)");
  }
  MetadataValues values;
  for (const auto& script : *scripts) {
    const auto name = ScriptName(metadata_dir, script);
    auto output = RunScriptForOutput({script.string()}, ToScriptOptions(options));
    if (!output) return std::unexpected(std::move(output.error()).WithContext(name));
    UH_TRY_CTX(ParseKeyValueLines(*output, values), name);
  }
  for (auto& [key, list] : values) std::ranges::sort(list);
  if (required && values.empty()) {
    return Fail(Errc::kMalformed, std::string(subdir) + ": the scripts printed no key=value line");
  }
  return values;
}

// `text` with each byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD. The
// probe body and GET /info are JSON, which holds UTF-8 only; replacing here rather than when
// writing the JSON keeps two keys that differ only in such bytes from becoming duplicate keys.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if (lead >= 0xc2 && lead <= 0xf4) {
      length = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
      code_point = lead & (0x7fu >> length);
    }
    bool valid = length != 0 && text.size() - i >= length;
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xc0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && code_point >= kMinimum[length] && code_point <= 0x10ffff &&
            (code_point < 0xd800 || code_point > 0xdfff);
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xef\xbf\xbd");  // U+FFFD
      ++i;
    }
  }
  return out;
}

}  // namespace

Expected<void> ParseKeyValueLines(std::string_view output, MetadataValues& values) {
  int number = 0;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    ++number;
    const auto line = Trim(output.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const auto key = eq == std::string_view::npos ? std::string_view{} : Trim(line.substr(0, eq));
    if (key.empty()) {
      const std::string shown =
          line.size() > 60 ? std::string(line.substr(0, 60)) + "..." : std::string(line);
      return Fail(Errc::kMalformed,
                  "line " + std::to_string(number) + ": '" + shown + "' is not key=value");
    }
    values[ValidUtf8(key)].push_back(ValidUtf8(Trim(line.substr(eq + 1))));
  }
  return {};
}

nlohmann::json MetadataValuesToJson(const MetadataValues& values) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, list] : values) {
    if (list.size() == 1) {
      out[key] = list.front();
    } else {
      out[key] = list;
    }
  }
  return out;
}

nlohmann::json FirmwareMetadata::ToProbeJson() const {
  return {
      {"product-uid", product_uid},
      {"version", version},
      {"hardware", hardware},
      {"device-identity", MetadataValuesToJson(identity)},
      {"device-attributes", MetadataValuesToJson(attributes)},
  };
}

nlohmann::json FirmwareMetadata::ToInfoJson() const {
  return {
      {"product_uid", product_uid},
      {"version", version},
      {"hardware", hardware},
      {"pub_key", public_key ? nlohmann::json(public_key->string()) : nlohmann::json(nullptr)},
      {"device_identity", MetadataValuesToJson(identity)},
      {"device_attributes", MetadataValuesToJson(attributes)},
  };
}

Expected<FirmwareMetadata> LoadFirmwareMetadata(const std::filesystem::path& dir,
                                                const MetadataOptions& options) {
  const auto context = "firmware metadata in " + dir.string();
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return Fail(Errc::kNotFound, context + ": the directory does not exist");
  }
  FirmwareMetadata metadata;
  auto product_uid = RunSingleValue(dir, "product-uid", options);
  if (!product_uid) return std::unexpected(std::move(product_uid.error()).WithContext(context));
  UH_TRY_CTX(CheckProductUid(*product_uid), context);
  metadata.product_uid = std::move(*product_uid);

  auto version = RunSingleValue(dir, "version", options);
  if (!version) return std::unexpected(std::move(version.error()).WithContext(context));
  if (version->empty()) return Fail(Errc::kMalformed, context + ": version: printed nothing");
  metadata.version = std::move(*version);

  auto hardware = RunSingleValue(dir, "hardware", options);
  if (!hardware) return std::unexpected(std::move(hardware.error()).WithContext(context));
  metadata.hardware = std::move(*hardware);

  auto identity = RunScriptsOf(dir, "device-identity.d", true, options);
  if (!identity) return std::unexpected(std::move(identity.error()).WithContext(context));
  metadata.identity = std::move(*identity);

  auto attributes = RunScriptsOf(dir, "device-attributes.d", false, options);
  if (!attributes) return std::unexpected(std::move(attributes.error()).WithContext(context));
  metadata.attributes = std::move(*attributes);

  if (fs::exists(dir / "key.pub", error)) metadata.public_key = dir / "key.pub";
  return metadata;
}

}  // namespace uh::agent
