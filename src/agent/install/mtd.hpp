#pragma once

// MTD and UBI lookups: the device of an MTD partition by name (/proc/mtd), NAND or NOR
// (sysfs, else the MEMGETINFO ioctl), and the device of a UBI volume by name (ubinfo).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/install/installer.hpp"

namespace uh::agent {

// "/dev/mtdN" for the partition called `name` in /proc/mtd text; nullopt when absent.
[[nodiscard]] std::optional<std::string> MtdDeviceFromProcMtd(std::string_view proc_mtd,
                                                              std::string_view name);
// The same, reading <root>/proc/mtd.
[[nodiscard]] Expected<std::string> MtdDeviceByName(std::string_view name,
                                                    const InstallContext& ctx);

// Whether the MTD device `device` (as the device sees it; `rooted` is its path under the root)
// is NAND flash: <root>/sys/class/mtd/<name>/type, else the MEMGETINFO ioctl.
[[nodiscard]] Expected<bool> IsNandFlash(std::string_view device,
                                         const std::filesystem::path& rooted,
                                         const InstallContext& ctx);

// Fails with kNoSpace when sysfs gives the size of the MTD or UBI device `device` (as the device
// sees it: /dev/mtdN, /dev/ubiX_Y) and `needed` bytes do not fit; does nothing when it does not.
[[nodiscard]] Expected<void> CheckFlashRoom(std::string_view device, std::uint64_t needed,
                                            const InstallContext& ctx);

// The volume number in the first line of `ubinfo <dev> -N <name>` ("Volume ID:   3 (on ubi0)").
[[nodiscard]] std::optional<unsigned> ParseUbinfoVolumeId(std::string_view output);
// "/dev/ubiX_Y" of the UBI volume called `name`, asking ubinfo about each /dev/ubiX.
[[nodiscard]] Expected<std::string> UbiVolumeDevice(std::string_view name,
                                                    const InstallContext& ctx);

}  // namespace uh::agent
