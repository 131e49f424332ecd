#include "agent/daemon/states/update_objects.hpp"

#include <filesystem>
#include <string>
#include <system_error>

namespace uh::agent {

DeliveryPlan DecidePlan(const Environment& env, const UpdateContext& context) {
  const auto& update = *context.update;
  const auto source = update.remote                 ? ObjectSource::kServer
                      : update.package_file.empty() ? ObjectSource::kUnpacked
                                                    : ObjectSource::kPackageFile;
  const int active_set = update.previous_slot;
  return PlanDelivery(context.ObjectsForSlot(),
                      {.stream_objects = env.config().update.stream_objects,
                       .source = source,
                       .in_place = context.InPlace(),
                       .fits_into_target = [&](const package::Object& object) -> Expected<bool> {
                         auto target = StreamTargetOf(object, env.ContextFor(object, active_set));
                         if (!target) return std::unexpected(std::move(target.error()));
                         return target->has_value();
                       }});
}

Expected<StreamTarget> IntoTargetOf(const Environment& env, const UpdateContext& context,
                                    const package::Object& object) {
  auto target = StreamTargetOf(object, env.ContextFor(object, context.update->previous_slot));
  if (!target) return std::unexpected(std::move(target.error()));
  if (!*target) {
    return Fail(Errc::kInvalidArgument,
                "planned to be written into its target, which it no longer fits: " +
                    std::string(package::ModeName(object.mode)) + " object '" + object.filename +
                    "'");
  }
  return std::move(**target);
}

void RemoveUpdateFiles(const Environment& env, const UpdateContext& context) {
  std::error_code ec;
  for (const auto* object : Distinct(context.ObjectsForSlot())) {
    std::filesystem::remove(env.ObjectPath(object->sha256sum), ec);
    std::filesystem::remove(env.StreamProgressPath(object->sha256sum), ec);
  }
  std::filesystem::remove(env.RemoteInstallPath(), ec);
}

}  // namespace uh::agent
