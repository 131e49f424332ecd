#include "server/json_views.hpp"

namespace uh::server {
namespace {

using nlohmann::json;

// Stored JSON text back into a value; text that does not parse is shown as a string.
json Embedded(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;
}

}  // namespace

json ToJson(const Product& product) {
  return {{"uid", product.uid},
          {"name", product.name},
          {"created_at", product.created_at},
          {"device_auth", product.device_auth},
          {"enrolment", product.enrolment},
          {"client_ca", product.client_ca},
          {"forbid_downgrades", product.forbid_downgrades}};
}

json ToJson(const SigningKey& key) {
  return {{"id", key.id},
          {"product", key.product_uid},
          {"name", key.name},
          {"fingerprint", key.fingerprint},
          {"public_key", key.public_pem},
          {"created_at", key.created_at}};
}

json ToJson(const Package& package) {
  json objects = json::array();
  for (const auto& object : package.objects) {
    objects.push_back({{"sha256", object.sha256}, {"size", object.size}});
  }
  return {{"uid", package.uid},
          {"product", package.product_uid},
          {"version", package.version},
          {"supported_hardware", Embedded(package.supported_hardware)},
          {"size", package.size},
          {"signed", !package.signature.empty()},
          {"key_id", package.key_id},
          {"objects", objects},
          {"created_at", package.created_at}};
}

json ToJson(const Device& device) {
  return {{"id", device.id},
          {"product", device.product_uid},
          {"identity", Embedded(device.identity)},
          {"attributes", Embedded(device.attributes)},
          {"hardware", device.hardware},
          {"version", device.version},
          {"last_seen", device.last_seen},
          {"created_at", device.created_at},
          {"auth_state", device.auth_state}};
}

json HistoryJson(const Report& report) {
  std::string_view log = report.current_log;
  const bool truncated = log.size() > kLogExcerptBytes;
  if (truncated) {
    log.remove_prefix(log.size() - kLogExcerptBytes);
    // Not in the middle of a line, nor of a UTF-8 character.
    if (const auto newline = log.find('\n');
        newline != std::string_view::npos && newline + 1 < log.size()) {
      log.remove_prefix(newline + 1);
    }
    while (!log.empty() && (static_cast<unsigned char>(log.front()) & 0xC0) == 0x80) {
      log.remove_prefix(1);
    }
  }
  return {{"id", report.id},
          {"package_uid", report.package_uid},
          {"status", report.status},
          {"previous_state", report.previous_state},
          {"error_message", report.error_message},
          {"log_excerpt", log},
          {"log_truncated", truncated},
          {"created_at", report.created_at}};
}

json ToJson(const DeviceVersion& version) {
  return {{"id", version.id},
          {"version", version.version},
          {"since", version.since.empty() ? json(nullptr) : json(version.since)}};
}

json ToJson(const DeviceRollout& rollout) {
  const RolloutDevice& place = rollout.place;
  return {{"rollout_id", place.rollout_id},
          {"name", rollout.name},
          {"package", rollout.package_uid},
          {"package_version", rollout.package_version},
          {"rollout_state", RolloutStateName(rollout.rollout_state)},
          {"active", rollout.active},
          {"stage", place.stage},
          {"state", DeviceStateName(place.state)},
          {"error_message", place.error_message},
          {"retries", place.retries},
          {"started_at", place.started_at},
          {"updated_at", place.updated_at}};
}

json ToJson(const Report& report) {
  return {{"id", report.id},
          {"device_id", report.device_id},
          {"package_uid", report.package_uid},
          {"status", report.status},
          {"previous_state", report.previous_state},
          {"error_message", report.error_message},
          {"current_log", report.current_log},
          {"created_at", report.created_at}};
}

}  // namespace uh::server
