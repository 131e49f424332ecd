// flash: erase an MTD device, then write the object with nandwrite -p (NAND) or flashcp (NOR).
// Upstream facts: the three tools must be on PATH; target-type device or mtdname (resolved
// through /proc/mtd to /dev/mtdN); "flash_erase DEV 0 0", then "nandwrite -p DEV FILE" or
// "flashcp FILE DEV". NAND or NOR comes from the device (we read sysfs first, then the ioctl).

#include "agent/install/installers.hpp"
#include "agent/install/mtd.hpp"
#include "agent/install/target.hpp"
#include "agent/install/tools.hpp"
#include "core/log.hpp"

namespace uh::agent {

Expected<void> FlashInstaller::CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const {
  UH_TRY(RequireTools({"flash_erase", "nandwrite", "flashcp"}, ctx));
  if (object.target_type == package::TargetType::kUbiVolume) {
    return Fail(Errc::kMalformed, "flash mode needs target-type device or mtdname");
  }
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  UH_TRY(CheckTargetFree(*target, ctx, /*allow_directory=*/false));
  return CheckFlashRoom(target->device, object.size, ctx);
}

Expected<void> FlashInstaller::Install(const package::Object& object,
                                       const InstallContext& ctx) const {
  auto target = ResolveTarget(object, ctx);
  if (!target) return std::unexpected(std::move(target.error()));
  auto nand = IsNandFlash(target->device, target->path, ctx);
  if (!nand) return std::unexpected(std::move(nand.error()));
  const std::string device = target->path.string();
  const std::string source = ctx.object_file.string();
  auto erased = RunTool({"flash_erase", device, "0", "0"}, ctx);
  if (!erased)
    return std::unexpected(std::move(erased.error()).WithContext("erasing " + target->device));
  UH_TRY(CheckCancelled(ctx));
  auto written = *nand ? RunTool({"nandwrite", "-p", device, source}, ctx)
                       : RunTool({"flashcp", source, device}, ctx);
  if (!written)
    return std::unexpected(std::move(written.error()).WithContext("writing " + target->device));
  spdlog::info("{}: written to {} ({})", ObjectLabel(object), target->device,
               *nand ? "NAND" : "NOR");
  return {};
}

}  // namespace uh::agent
