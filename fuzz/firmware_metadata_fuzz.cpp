// ParseKeyValueLines on untrusted script output (device-identity.d/ and device-attributes.d/:
// firmware scripts print whatever their EEPROM or tools give them). Only a non-blank line
// without a key is an error (kMalformed, naming the line). Every non-blank line gives one
// trimmed value under a trimmed, non-empty key; writing the values back as key=value lines gives
// the same values. The probe body built from them must always be JSON, whatever the bytes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "agent/device/firmware_metadata.hpp"
#include "agent/device/ini.hpp"
#include "core/json.hpp"
#include "fuzz_check.hpp"
#include "protocol/bodies.hpp"

namespace {

using uh::agent::MetadataValues;

bool Trimmed(std::string_view text) {
  return uh::agent::device_internal::Trim(text).size() == text.size();
}

std::size_t NonBlankLines(std::string_view text) {
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (!uh::agent::device_internal::Trim(text.substr(start, end - start)).empty()) ++count;
    start = end + 1;
  }
  return count;
}

void CheckProbeBody(const MetadataValues& values) {
  uh::agent::FirmwareMetadata metadata;
  metadata.product_uid = std::string(64, 'a');
  metadata.version = "1.0";
  metadata.identity = values;
  metadata.attributes = values;
  auto body = uh::protocol::ProbeBody(metadata.ToProbeJson());
  UH_FUZZ_CHECK(body.has_value(), "no probe body for these device fields");
  auto parsed = uh::ParseJson(*body, {.max_depth = 32, .max_bytes = body->size()});
  if (!parsed) std::fprintf(stderr, "probe body: %s\n", parsed.error().message().c_str());
  UH_FUZZ_CHECK(parsed.has_value(), "the probe body is not JSON");
  UH_FUZZ_CHECK((*parsed)["device-identity"].size() == values.size(),
                "the probe body lost or merged device-identity keys");
  // GET /info shows the same maps.
  (void)metadata.ToInfoJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view output(reinterpret_cast<const char*>(data), size);
  MetadataValues values;
  auto parsed = uh::agent::ParseKeyValueLines(output, values);
  if (!parsed) {
    UH_FUZZ_CHECK(parsed.error().code() == uh::Errc::kMalformed, "bad output is not kMalformed");
    UH_FUZZ_CHECK(parsed.error().message().starts_with("line "), "the error does not name a line");
    return 0;
  }

  std::size_t count = 0;
  std::string written;
  for (const auto& [key, list] : values) {
    UH_FUZZ_CHECK(!key.empty() && Trimmed(key), "a key is empty or not trimmed");
    UH_FUZZ_CHECK(key.find_first_of("=\n") == std::string::npos, "a key holds '=' or a newline");
    for (const auto& value : list) {
      UH_FUZZ_CHECK(Trimmed(value), "a value is not trimmed");
      UH_FUZZ_CHECK(value.find('\n') == std::string::npos, "a value holds a newline");
      written += key + "=" + value + "\n";
      ++count;
    }
  }
  UH_FUZZ_CHECK(count == NonBlankLines(output), "not one value per non-blank line");

  MetadataValues reread;
  UH_FUZZ_CHECK(uh::agent::ParseKeyValueLines(written, reread).has_value(),
                "the values written back as key=value lines do not parse");
  UH_FUZZ_CHECK(reread == values, "the values written back read differently");

  CheckProbeBody(values);
  return 0;
}
