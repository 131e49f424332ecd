// The flash lookups' parsers on untrusted text: /proc/mtd (a plain file under a simulated
// device's target root; partition names come from device trees and kernel command lines) and
// the output of ubinfo. The first line of the input is the partition name looked up, the rest
// the /proc/mtd text; the whole input is also read as ubinfo output. A device found must be a
// /dev/mtdN named on a line of the text; a well-formed line for the name is always found.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/install/mtd.hpp"
#include "fuzz_check.hpp"
#include "fuzz_support.hpp"

namespace {

bool IsMtdDevice(std::string_view device) {
  constexpr std::string_view kPrefix = "/dev/mtd";
  if (!device.starts_with(kPrefix) || device.size() == kPrefix.size()) return false;
  for (const char c : device.substr(kPrefix.size())) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

void CheckProcMtd(std::string_view name, std::string_view proc_mtd) {
  const auto device = uh::agent::MtdDeviceFromProcMtd(proc_mtd, name);
  if (device) {
    UH_FUZZ_CHECK(IsMtdDevice(*device), "the device found is not /dev/mtdN");
    const std::string line_start = device->substr(5) + ": ";
    UH_FUZZ_CHECK(proc_mtd.starts_with(line_start) ||
                      proc_mtd.find("\n" + line_start) != std::string_view::npos,
                  "the device found has no line in /proc/mtd");
    UH_FUZZ_CHECK(proc_mtd.find("\"" + std::string(name) + "\"") != std::string_view::npos,
                  "the device found is not named so in /proc/mtd");
  }
  const std::string listed =
      std::string(proc_mtd) + "\nmtd99: 00100000 00020000 \"" + std::string(name) + "\"\n";
  const auto found = uh::agent::MtdDeviceFromProcMtd(listed, name);
  UH_FUZZ_CHECK(found && IsMtdDevice(*found), "a well-formed /proc/mtd line is not found");
}

void CheckUbinfo(std::string_view output) {
  const auto id = uh::agent::ParseUbinfoVolumeId(output);
  if (!id) return;
  UH_FUZZ_CHECK(output.starts_with("Volume ID:"), "a volume id read from another line");
  const auto again =
      uh::agent::ParseUbinfoVolumeId("Volume ID:   " + std::to_string(*id) + " (on ubi0)\n");
  UH_FUZZ_CHECK(again == id, "ubinfo's own form of the volume id reads differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto [name, proc_mtd] = uh::fuzz::SplitFirstLine(text);
  CheckProcMtd(name, proc_mtd);
  CheckUbinfo(text);
  return 0;
}
