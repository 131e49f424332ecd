// The installer of each install mode; what each mode can do is the capability columns beside it
// (kModeTable in installer.hpp).

#include <array>

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

struct Row {
  Mode mode;
  const Installer* installer;
};

// The installer of each mode of kModeTable (installer.hpp: the capability columns), in its order.
constexpr std::array kInstallers = {
    Row{Mode::kRaw, &kRaw},           Row{Mode::kCopy, &kCopy},   Row{Mode::kTarball, &kTarball},
    Row{Mode::kFlash, &kFlash},       Row{Mode::kUbifs, &kUbifs}, Row{Mode::kImxkobs, &kImxkobs},
    Row{Mode::kUbootEnv, &kUbootEnv}, Row{Mode::kTest, &kTest},
};

constexpr bool SameModesAsTheCapabilityColumns() {
  if (kInstallers.size() != kModeTable.size()) return false;
  for (std::size_t i = 0; i < kInstallers.size(); ++i) {
    if (kInstallers[i].mode != kModeTable[i].mode) return false;
  }
  return true;
}
static_assert(SameModesAsTheCapabilityColumns(),
              "kInstallers must list the modes of kModeTable, in its order");

Expected<const Installer*> Lookup(const package::Object& object) {
  if (const Installer* installer = FindInstaller(object.mode)) return installer;
  return Fail(Errc::kUnsupported,
              "install mode " + std::string(package::ModeName(object.mode)) + " is not supported");
}

}  // namespace

const Installer* FindInstaller(Mode mode) {
  for (const auto& row : kInstallers) {
    if (row.mode == mode) return row.installer;
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
