// test: the internal testing mode, with no side effects.

#include "agent/install/installers.hpp"

namespace uh::agent {

Expected<void> TestInstaller::CheckRequirements(const package::Object& object,
                                                const InstallContext& /*ctx*/) const {
  if (object.force_check_requirements_fail.value_or(false)) {
    return Fail(Errc::kInvalidArgument, "requirements check forced to fail");
  }
  return {};
}

Expected<void> TestInstaller::Install(const package::Object& /*object*/,
                                      const InstallContext& /*ctx*/) const {
  return {};
}

}  // namespace uh::agent
