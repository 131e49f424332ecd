#include "agent/daemon/delivery_plan.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "agent/install/installer.hpp"

namespace uh::agent {
namespace {

constexpr std::array kNames = {
    std::pair{Delivery::kDownload, std::string_view("download")},
    std::pair{Delivery::kFromPackage, std::string_view("from_package")},
    std::pair{Delivery::kPipe, std::string_view("pipe")},
    std::pair{Delivery::kIntoTarget, std::string_view("into_target")},
    std::pair{Delivery::kDownloadAndTarget, std::string_view("download_and_target")},
};

// The delivery of `object` on its own, ignoring the objects before it.
Delivery Alone(const package::Object& object, const std::vector<package::Object>& objects,
               const DeliveryInputs& inputs) {
  if (std::ranges::count(objects, object.sha256sum, &package::Object::sha256sum) != 1) {
    return Delivery::kDownload;
  }
  // From a package file, with streaming on, every object that can is piped (there is no
  // transfer to resume).
  if (inputs.source == ObjectSource::kPackageFile) {
    return inputs.stream_objects && PipedInstallOf(object) ? Delivery::kFromPackage
                                                           : Delivery::kDownload;
  }
  auto fits = inputs.fits_into_target ? inputs.fits_into_target(object) : Expected<bool>(false);
  if (!fits) return Delivery::kDownload;
  if (!inputs.stream_objects) return *fits ? Delivery::kDownloadAndTarget : Delivery::kDownload;
  if (*fits) return Delivery::kIntoTarget;
  return PipedInstallOf(object) ? Delivery::kPipe : Delivery::kDownload;
}

Delivery Decide(const package::Object& object, const std::vector<package::Object>& objects,
                const DeliveryInputs& inputs) {
  for (const auto& each : objects) {
    if (each.sha256sum == object.sha256sum) return Alone(object, objects, inputs);
    if (each.target == object.target && each.target_type == object.target_type &&
        Alone(each, objects, inputs) == Delivery::kDownload) {
      return Delivery::kDownload;
    }
  }
  return Delivery::kDownload;
}

}  // namespace

std::string_view DeliveryName(Delivery delivery) {
  for (const auto& [value, name] : kNames) {
    if (value == delivery) return name;
  }
  return "unknown";
}

std::optional<Delivery> DeliveryNamed(std::string_view name) {
  for (const auto& [value, each] : kNames) {
    if (each == name) return value;
  }
  return std::nullopt;
}

Delivery DeliveryPlan::Of(const std::string& sha256) const {
  for (const auto& entry : entries_) {
    if (entry.sha256 == sha256) return entry.delivery;
  }
  return Delivery::kDownload;
}

DeliveryPlan PlanDelivery(const std::vector<package::Object>& objects,
                          const DeliveryInputs& inputs) {
  const bool early = !inputs.in_place && inputs.source != ObjectSource::kUnpacked;
  std::vector<DeliveryPlan::Entry> entries;
  std::set<std::string> seen;
  for (const auto& object : objects) {
    if (!seen.insert(object.sha256sum).second) continue;
    entries.push_back(
        {object.sha256sum, early ? Decide(object, objects, inputs) : Delivery::kDownload});
  }
  return DeliveryPlan(std::move(entries));
}

}  // namespace uh::agent
