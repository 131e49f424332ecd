#pragma once

// The objects of the update in progress, for the states that move them: how they travel (the
// delivery plan), where one planned into its target is written, and cleaning up after them.

#include "agent/daemon/delivery_plan.hpp"
#include "agent/daemon/environment.hpp"
#include "agent/daemon/update_context.hpp"
#include "agent/install/installer.hpp"

namespace uh::agent {

// The delivery plan of the update in progress, as validation decides it from the installer
// table, update.stream_objects and where the objects come from (delivery_plan.hpp).
[[nodiscard]] DeliveryPlan DecidePlan(const Environment& env, const UpdateContext& context);
// Where an object planned kIntoTarget is written.
[[nodiscard]] Expected<StreamTarget> IntoTargetOf(const Environment& env,
                                                  const UpdateContext& context,
                                                  const package::Object& object);
// Removes what the update left in the download directory (objects, stream records, a package
// fetched from a URL).
void RemoveUpdateFiles(const Environment& env, const UpdateContext& context);

}  // namespace uh::agent
