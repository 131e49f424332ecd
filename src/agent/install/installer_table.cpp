// The one table from install mode to installer.

#include <array>
#include <utility>

#include "agent/install/installers.hpp"
#include "agent/install/target.hpp"

namespace uh::agent {
namespace {

using package::Mode;

const RawInstaller kRaw;
const CopyInstaller kCopy;
const TarballInstaller kTarball;
const FlashInstaller kFlash;
const UbifsInstaller kUbifs;
const ImxkobsInstaller kImxkobs;
const UbootEnvInstaller kUbootEnv;
const TestInstaller kTest;

// mender and zephyr are for other kinds of device; raw-delta needs the delta engine.
constexpr std::array kInstallers = {
    std::pair<Mode, const Installer*>{Mode::kRaw, &kRaw},
    std::pair<Mode, const Installer*>{Mode::kCopy, &kCopy},
    std::pair<Mode, const Installer*>{Mode::kTarball, &kTarball},
    std::pair<Mode, const Installer*>{Mode::kFlash, &kFlash},
    std::pair<Mode, const Installer*>{Mode::kUbifs, &kUbifs},
    std::pair<Mode, const Installer*>{Mode::kImxkobs, &kImxkobs},
    std::pair<Mode, const Installer*>{Mode::kUbootEnv, &kUbootEnv},
    std::pair<Mode, const Installer*>{Mode::kTest, &kTest},
};

Expected<const Installer*> Lookup(const package::Object& object) {
  if (const Installer* installer = FindInstaller(object.mode)) return installer;
  return Fail(Errc::kUnsupported,
              "install mode " + std::string(package::ModeName(object.mode)) + " is not supported");
}

}  // namespace

const Installer* FindInstaller(Mode mode) {
  for (const auto& [key, installer] : kInstallers) {
    if (key == mode) return installer;
  }
  return nullptr;
}

Expected<void> CheckRequirements(const package::Object& object, const InstallContext& ctx) {
  auto installer = Lookup(object);
  if (!installer)
    return std::unexpected(std::move(installer.error()).WithContext(ObjectLabel(object)));
  UH_TRY_CTX((*installer)->CheckRequirements(object, ctx), ObjectLabel(object));
  return {};
}

Expected<void> Install(const package::Object& object, const InstallContext& ctx) {
  auto installer = Lookup(object);
  if (!installer)
    return std::unexpected(std::move(installer.error()).WithContext(ObjectLabel(object)));
  UH_TRY_CTX((*installer)->Install(object, ctx), ObjectLabel(object));
  return {};
}

}  // namespace uh::agent
