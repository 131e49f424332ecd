#pragma once

// The installer of each install mode (facts from the upstream agent, where our behaviour differs
// the .cpp says why). The table in installer_table.cpp is the only place that maps modes to
// these and to what each can do (FindInstaller, CapabilitiesOf).

#include "agent/install/installer.hpp"

namespace uh::agent {

// dd-style write of the (decompressed) object to a device or a regular file standing in for
// one: chunk-size, skip, seek, count, truncate.
class RawInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// Writes the (decompressed) object as one file, target-path, in the target's file system.
class CopyInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// Extracts an archive under target-path in the target's file system, refusing entries that
// would land outside it.
class TarballInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// flash_erase, then nandwrite -p (NAND) or flashcp (NOR) on an MTD device.
class FlashInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// ubiupdatevol on the UBI volume named by the target.
class UbifsInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// kobs-ng init with the imxkobs options.
class ImxkobsInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// fw_setenv --script: the object becomes the U-Boot environment, keeping updatehub_active.
class UbootEnvInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

// No side effects; CheckRequirements fails when force-check-requirements-fail is true.
class TestInstaller final : public Installer {
 public:
  [[nodiscard]] Expected<void> CheckRequirements(const package::Object& object,
                                                 const InstallContext& ctx) const override;
  [[nodiscard]] Expected<void> Install(const package::Object& object,
                                       const InstallContext& ctx) const override;
};

}  // namespace uh::agent
