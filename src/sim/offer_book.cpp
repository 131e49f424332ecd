#include "sim/offer_book.hpp"

#include <set>

#include "core/hash.hpp"
#include "package/metadata.hpp"
#include "protocol/url.hpp"

namespace uh::sim {

Expected<std::uint16_t> VersionTable::Intern(std::string_view version) {
  const std::string key(version);
  if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
  if (names_.size() > 0xffff) return Fail(Errc::kTooLarge, "too many distinct versions");
  const auto id = static_cast<std::uint16_t>(names_.size());
  names_.push_back(key);
  ids_.emplace(key, id);
  return id;
}

OfferBook::OfferBook(DeviceProfile profile, VersionTable& versions)
    : profile_(std::move(profile)), versions_(versions) {}

Expected<std::uint32_t> OfferBook::Intern(std::string_view metadata,
                                          const std::optional<std::string>& signature) {
  std::string key = signature.value_or("");
  key += '\n';
  key += metadata;
  if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
  if (offers_.size() >= kMaxOffers) {
    return Fail(Errc::kTooLarge, "the server offered more than " + std::to_string(kMaxOffers) +
                                     " distinct packages");
  }
  auto offer = Make(metadata, signature);
  if (!offer) return std::unexpected(std::move(offer.error()));
  const auto id = static_cast<std::uint32_t>(offers_.size());
  offers_.push_back(std::move(*offer));
  ids_.emplace(std::move(key), id);
  return id;
}

Expected<Offer> OfferBook::Make(std::string_view metadata,
                                const std::optional<std::string>& signature) {
  auto parsed = package::ParseMetadata(metadata);
  if (!parsed) return std::unexpected(parsed.error().WithContext("the server's metadata"));
  Offer offer;
  offer.package_uid = Sha256Hex(metadata);
  auto version = versions_.Intern(parsed->version);
  if (!version) return std::unexpected(version.error());
  offer.version = *version;

  // Checked in the agent's order: signature, product, hardware.
  if (profile_.public_key) {
    if (!signature || signature->empty()) {
      offer.problem = "unsigned, and this device requires signatures";
    } else if (!profile_.public_key->VerifyBase64(metadata, *signature)) {
      offer.problem = "the signature does not verify with key.pub";
    }
  }
  if (!offer.problem && parsed->product != profile_.product_uid) {
    offer.problem =
        "made for product " + parsed->product + ", this device is " + profile_.product_uid;
  }
  if (!offer.problem && !parsed->SupportsHardware(profile_.hardware)) {
    offer.problem = "does not support hardware '" + profile_.hardware + "'";
  }

  offer.in_place = parsed->sets.size() == 1;
  for (int active = 0; active < 2; ++active) {
    const auto set_index = parsed->sets.size() == 2 ? static_cast<std::size_t>(1 - active) : 0;
    auto& objects = offer.objects_by_active_slot[static_cast<std::size_t>(active)];
    std::set<std::string> seen;
    for (const auto& object : parsed->sets.at(set_index)) {
      if (!seen.insert(object.sha256sum).second) continue;
      auto target = protocol::ObjectPath(parsed->product, offer.package_uid, object.sha256sum);
      if (!target) return std::unexpected(target.error().WithContext("the server's metadata"));
      objects.push_back(SimObject{object.sha256sum, object.size, std::move(*target)});
    }
    if (objects.size() > 255 && !offer.problem) {
      offer.problem = "more than 255 objects in one installation set";
    }
  }
  return offer;
}

}  // namespace uh::sim
