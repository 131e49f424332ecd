#include "agent/daemon/update_context.hpp"

#include <algorithm>
#include <set>

namespace uh::agent {

void UpdateContext::EndUpdate() {
  offer.reset();
  update.reset();
  verified.clear();
}

const std::vector<package::Object>& UpdateContext::ObjectsForSlot() const {
  const auto& sets = offer->parsed.sets;
  const auto index = static_cast<std::size_t>(update ? update->target_slot : 1);
  return sets.size() > index ? sets[index] : sets.front();
}

bool UpdateContext::InPlace() const { return offer && offer->parsed.sets.size() == 1; }

Delivery UpdateContext::DeliveryOf(const package::Object& object) const {
  return update && update->plan ? update->plan->Of(object.sha256sum) : Delivery::kDownload;
}

bool UpdateContext::InstalledWhileDownloading(const package::Object& object) const {
  return update && std::ranges::count(update->installed_while_downloading, object.sha256sum) > 0;
}

Offer OfferOf(const UpdateState& update, package::Metadata parsed) {
  return Offer{update.metadata,   update.signature,   update.remote,
               std::move(parsed), update.package_uid, update.package_file};
}

std::vector<const package::Object*> Distinct(const std::vector<package::Object>& objects) {
  std::vector<const package::Object*> out;
  std::set<std::string> seen;
  for (const auto& object : objects) {
    if (seen.insert(object.sha256sum).second) out.push_back(&object);
  }
  return out;
}

}  // namespace uh::agent
