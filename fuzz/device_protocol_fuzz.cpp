// ParseProbe and ParseReport on a body as any device, or anyone, can POST it to /upgrades and
// /report. Errors are kMalformed (kTooLarge past the size limit). An accepted probe holds the
// documented limits: a product uid of 64 lowercase hex digits, a non-empty version, an identity
// of 1 to 64 non-empty keys, attributes of at most 64, values of at most 1 KiB, a key's several
// values sorted, distinct and 2 to 64 of them (one value is a string). Its canonical identity is
// JSON that reads back as the identity, ToDeviceProbe carries the fields, and the probe written
// back as a body parses to the same probe. An accepted report has a known status, a package uid,
// an error message of at most 64 KiB and a log of at most 512 KiB of UTF-8, and its device part
// is the probe ParseProbe reads from the same body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/json.hpp"
#include "fuzz_support.hpp"
#include "protocol/bodies.hpp"
#include "server/device_protocol.hpp"

namespace {

using nlohmann::json;
using uh::protocol::ProbeRequest;

constexpr std::size_t kMaxValueBytes = 1024;
constexpr std::size_t kProbeMaxBytes = 256 * 1024;

void CheckError(const uh::Error& error) {
  UH_FUZZ_CHECK(error.code() == uh::Errc::kMalformed || error.code() == uh::Errc::kTooLarge,
                "a bad body is not kMalformed or kTooLarge");
  UH_FUZZ_CHECK(!error.message().empty(), "an error without a message");
}

void CheckValueMap(const json& map, bool required) {
  UH_FUZZ_CHECK(map.is_object(), "a value map that is not an object");
  UH_FUZZ_CHECK(map.size() <= 64, "more than 64 keys");
  if (required) UH_FUZZ_CHECK(!map.empty(), "an empty identity");
  for (const auto& [key, value] : map.items()) {
    UH_FUZZ_CHECK(!key.empty() && key.size() <= kMaxValueBytes, "an empty or long key");
    if (value.is_string()) {
      UH_FUZZ_CHECK(value.get_ref<const std::string&>().size() <= kMaxValueBytes,
                    "a value over 1 KiB");
      continue;
    }
    UH_FUZZ_CHECK(value.is_array() && value.size() >= 2 && value.size() <= 64,
                  "several values that are not 2 to 64 of them");
    for (std::size_t i = 0; i < value.size(); ++i) {
      UH_FUZZ_CHECK(value[i].is_string(), "a value that is not a string");
      UH_FUZZ_CHECK(value[i].get_ref<const std::string&>().size() <= kMaxValueBytes,
                    "a value over 1 KiB");
      if (i > 0) UH_FUZZ_CHECK(value[i - 1] < value[i], "values not sorted and distinct");
    }
  }
}

bool SameProbe(const ProbeRequest& a, const ProbeRequest& b) {
  return a.product_uid == b.product_uid && a.version == b.version && a.hardware == b.hardware &&
         a.identity == b.identity && a.attributes == b.attributes;
}

void CheckProbe(const ProbeRequest& probe) {
  UH_FUZZ_CHECK(uh::IsLowerHexSha256(probe.product_uid), "a product uid that is no SHA-256");
  UH_FUZZ_CHECK(!probe.version.empty() && probe.version.size() <= kMaxValueBytes,
                "an empty or long version");
  UH_FUZZ_CHECK(probe.hardware.size() <= kMaxValueBytes, "a long hardware");
  CheckValueMap(probe.identity, true);
  CheckValueMap(probe.attributes, false);

  const std::string canonical = probe.CanonicalIdentity();
  auto identity = uh::ParseJson(canonical);
  UH_FUZZ_CHECK(identity.has_value() && *identity == probe.identity,
                "the canonical identity does not read back as the identity");
  const auto device = uh::server::ToDeviceProbe(probe, "2026-01-01T00:00:00Z");
  UH_FUZZ_CHECK(device.product_uid == probe.product_uid && device.identity == canonical &&
                    device.hardware == probe.hardware && device.version == probe.version &&
                    device.seen_at == "2026-01-01T00:00:00Z",
                "ToDeviceProbe lost a field");
  auto attributes = uh::ParseJson(device.attributes);
  UH_FUZZ_CHECK(attributes.has_value() && *attributes == probe.attributes,
                "the attributes do not read back");

  const json body = {{"product-uid", probe.product_uid},
                     {"version", probe.version},
                     {"hardware", probe.hardware},
                     {"device-identity", probe.identity},
                     {"device-attributes", probe.attributes}};
  auto again = uh::protocol::ParseProbe(body.dump());
  UH_FUZZ_CHECK(again.has_value(), "the probe written back does not parse");
  UH_FUZZ_CHECK(SameProbe(*again, probe), "the probe written back reads differently");
  UH_FUZZ_CHECK(again->CanonicalIdentity() == canonical, "the canonical identity moved");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto probe = uh::protocol::ParseProbe(text);
  if (probe) {
    CheckProbe(*probe);
  } else {
    CheckError(probe.error());
  }

  auto report = uh::protocol::ParseReport(text);
  if (!report) {
    CheckError(report.error());
    return 0;
  }
  CheckProbe(report->device);
  if (text.size() <= kProbeMaxBytes) {
    UH_FUZZ_CHECK(probe.has_value() && SameProbe(*probe, report->device),
                  "a report's device is not the probe of the same body");
  }
  constexpr std::string_view kStatuses[] = {"downloading", "downloaded", "installing", "installed",
                                            "rebooting",   "updated",    "error"};
  bool known = false;
  for (const auto status : kStatuses) known = known || report->status == status;
  UH_FUZZ_CHECK(known, "an unknown status is accepted");
  UH_FUZZ_CHECK(uh::IsLowerHexSha256(report->package_uid), "a package uid that is no SHA-256");
  UH_FUZZ_CHECK(report->previous_state.size() <= kMaxValueBytes, "a long previous state");
  UH_FUZZ_CHECK(report->error_message.size() <= 64 * 1024, "an error message over 64 KiB");
  UH_FUZZ_CHECK(report->current_log.size() <= 512 * 1024, "a log over 512 KiB");
  UH_FUZZ_CHECK(uh::fuzz::IsValidUtf8(report->current_log), "a log that is not UTF-8");
  UH_FUZZ_CHECK(uh::fuzz::IsValidUtf8(report->error_message), "a message that is not UTF-8");
  return 0;
}
