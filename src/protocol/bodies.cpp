#include "protocol/bodies.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "core/hash.hpp"
#include "core/json.hpp"

namespace uh::protocol {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxKeys = 64;
constexpr std::size_t kMaxValueBytes = 1024;
constexpr std::size_t kMaxValues = 64;
constexpr std::size_t kMaxLogBytes = 512 * 1024;
constexpr std::size_t kMaxIdentityBytes = 2048;

constexpr std::array kStatuses = {"downloading", "downloaded", "installing", "installed",
                                  "rebooting",   "updated",    "error"};

Expected<std::string> StringField(const json& body, const char* key, bool required,
                                  std::size_t max_bytes = kMaxValueBytes) {
  if (!body.contains(key)) {
    if (required) return Fail(Errc::kMalformed, std::string("'") + key + "' is missing");
    return std::string();
  }
  const json& value = body[key];
  if (!value.is_string()) {
    return Fail(Errc::kMalformed, std::string("'") + key + "' must be a string, not " +
                                      std::string(JsonTypeName(value)));
  }
  if (value.get_ref<const std::string&>().size() > max_bytes) {
    return Fail(Errc::kMalformed, std::string("'") + key + "' is too long");
  }
  return value.get<std::string>();
}

// key -> string | [strings]; arrays sorted and deduplicated.
Expected<json> ValueMap(const json& body, const char* key, bool required) {
  if (!body.contains(key) || body[key].is_null()) {
    if (required) return Fail(Errc::kMalformed, std::string("'") + key + "' is missing");
    return json::object();
  }
  const json& map = body[key];
  if (!map.is_object())
    return Fail(Errc::kMalformed, std::string("'") + key + "' must be an object");
  if (map.size() > kMaxKeys)
    return Fail(Errc::kMalformed, std::string("'") + key + "' has too many keys");
  if (required && map.empty()) return Fail(Errc::kMalformed, std::string("'") + key + "' is empty");
  json out = json::object();
  for (const auto& [name, value] : map.items()) {
    const std::string where = std::string(key) + "." + name;
    if (name.empty() || name.size() > kMaxValueBytes) {
      return Fail(Errc::kMalformed, std::string("'") + key + "' has an empty or too long key");
    }
    auto check = [&](const json& item) -> Expected<void> {
      if (!item.is_string()) return Fail(Errc::kMalformed, "'" + where + "' must hold strings");
      if (item.get_ref<const std::string&>().size() > kMaxValueBytes) {
        return Fail(Errc::kMalformed, "'" + where + "' is too long");
      }
      return {};
    };
    if (value.is_array()) {
      if (value.empty() || value.size() > kMaxValues) {
        return Fail(Errc::kMalformed, "'" + where + "' must hold 1 to 64 values");
      }
      std::vector<std::string> values;
      for (const auto& item : value) {
        UH_TRY(check(item));
        values.push_back(item.get<std::string>());
      }
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      out[name] = values.size() == 1 ? json(values.front()) : json(values);
    } else {
      UH_TRY(check(value));
      out[name] = value;
    }
  }
  return out;
}

Expected<ProbeRequest> ProbeFromJson(const json& body) {
  if (!body.is_object()) return Fail(Errc::kMalformed, "the body must be a JSON object");
  ProbeRequest probe;
  auto product = StringField(body, "product-uid", true);
  if (!product) return std::unexpected(product.error());
  if (!IsLowerHexSha256(*product)) {
    return Fail(Errc::kMalformed, "'product-uid' must be 64 lowercase hex digits");
  }
  probe.product_uid = *product;
  auto version = StringField(body, "version", true);
  if (!version) return std::unexpected(version.error());
  if (version->empty()) return Fail(Errc::kMalformed, "'version' is empty");
  probe.version = *version;
  auto hardware = StringField(body, "hardware", true);
  if (!hardware) return std::unexpected(hardware.error());
  probe.hardware = *hardware;
  auto identity = ValueMap(body, "device-identity", true);
  if (!identity) return std::unexpected(identity.error());
  probe.identity = std::move(*identity);
  // The identity is a key of the device in the store (unique per product): a serial number, a
  // MAC address, not a document. A bound keeps it indexable by every backend (PostgreSQL's
  // B-tree entries hold about 2.7 kB).
  if (const std::size_t size = probe.CanonicalIdentity().size(); size > kMaxIdentityBytes) {
    return Fail(Errc::kMalformed, "'device-identity' is too long: " + std::to_string(size) +
                                      " bytes as JSON, at most " +
                                      std::to_string(kMaxIdentityBytes));
  }
  auto attributes = ValueMap(body, "device-attributes", false);
  if (!attributes) return std::unexpected(attributes.error());
  probe.attributes = std::move(*attributes);
  return probe;
}

}  // namespace

Expected<std::string> ProbeBody(const json& device_fields) {
  if (!device_fields.is_object()) {
    return Fail(Errc::kInvalidArgument, "device fields must be a JSON object");
  }
  return DumpJson(device_fields);
}

Expected<std::string> ReportBody(const json& device_fields, const ReportRequest& report) {
  if (!device_fields.is_object()) {
    return Fail(Errc::kInvalidArgument, "device fields must be a JSON object");
  }
  // Field names as the upstream agent sends them (kebab-case, "status" for the state).
  json body = device_fields;
  body["status"] = report.status;
  body["package-uid"] = report.package_uid;
  if (report.previous_state) body["previous-state"] = *report.previous_state;
  if (report.error_message) body["error-message"] = *report.error_message;
  if (report.current_log) body["current-log"] = *report.current_log;
  return DumpJson(body);
}

Expected<json> ParseIdentity(const json& identity) {
  return ValueMap(json{{"identity", identity}}, "identity", true);
}

std::string ProbeRequest::CanonicalIdentity() const { return PythonJsonDumps(identity); }

Expected<ProbeRequest> ParseProbe(std::string_view body) {
  auto json_body = ParseJson(body, {.max_depth = 4, .max_bytes = 256 * 1024});
  if (!json_body) return std::unexpected(json_body.error());
  return ProbeFromJson(*json_body);
}

Expected<ParsedReport> ParseReport(std::string_view body) {
  auto json_body = ParseJson(body, {.max_depth = 4, .max_bytes = 1024 * 1024});
  if (!json_body) return std::unexpected(json_body.error());
  ParsedReport report;
  auto device = ProbeFromJson(*json_body);
  if (!device) return std::unexpected(device.error());
  report.device = std::move(*device);
  auto status = StringField(*json_body, "status", true);
  if (!status) return std::unexpected(status.error());
  if (std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end()) {
    return Fail(Errc::kMalformed, "unknown status '" + status->substr(0, 64) + "'");
  }
  report.status = *status;
  auto package_uid = StringField(*json_body, "package-uid", true);
  if (!package_uid) return std::unexpected(package_uid.error());
  if (!IsLowerHexSha256(*package_uid)) {
    return Fail(Errc::kMalformed, "'package-uid' must be 64 lowercase hex digits");
  }
  report.package_uid = *package_uid;
  auto previous = StringField(*json_body, "previous-state", false);
  if (!previous) return std::unexpected(previous.error());
  report.previous_state = *previous;
  auto message = StringField(*json_body, "error-message", false, 64 * 1024);
  if (!message) return std::unexpected(message.error());
  report.error_message = *message;
  // Agents send the recent log as a string; keep its tail when it is very long.
  if (json_body->contains("current-log")) {
    const json& log = (*json_body)["current-log"];
    std::string text = log.is_string() ? log.get<std::string>() : log.dump();
    if (text.size() > kMaxLogBytes) {
      std::size_t cut = text.size() - kMaxLogBytes;
      // Do not start in the middle of a UTF-8 sequence.
      while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) ++cut;
      text.erase(0, cut);
    }
    report.current_log = std::move(text);
  }
  return report;
}

}  // namespace uh::protocol
