#pragma once

// Update offers as the fleet has seen them. A probe reply's metadata is parsed and its
// signature checked once per distinct (metadata, signature) pair: every device would reach the
// same verdict on the same bytes, and 100,000 RSA verifications of one package teach nothing.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "package/signature.hpp"

namespace uh::sim {

// Versions are interned: a device keeps a 16-bit id instead of a string.
class VersionTable {
 public:
  [[nodiscard]] Expected<std::uint16_t> Intern(std::string_view version);
  [[nodiscard]] const std::string& Name(std::uint16_t id) const { return names_.at(id); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint16_t> ids_;
};

struct SimObject {
  std::string sha256;
  std::uint64_t size = 0;
  std::string target;  // the download path, "/products/.../objects/<sha256>"
};

struct Offer {
  std::string package_uid;
  std::uint16_t version = 0;
  // The distinct objects a device installs, by its active slot: with two installation sets a
  // device on slot 0 installs set 1 (the inactive slot) and one on slot 1 installs set 0; with
  // one set, that set.
  std::array<std::vector<SimObject>, 2> objects_by_active_slot;
  // One installation set: the agent installs it over the running system, without switching
  // slots or rebooting, and probes at once.
  bool in_place = false;
  // Why a device refuses the package at validation (signature, product, hardware); none if valid.
  std::optional<std::string> problem;
};

struct DeviceProfile {
  std::string product_uid;
  std::string hardware;
  std::optional<package::PublicKey> public_key;
};

class OfferBook {
 public:
  OfferBook(DeviceProfile profile, VersionTable& versions);

  // The offer of a probe reply. Fails (kMalformed) when the metadata does not parse, as an
  // agent's probe would; kTooLarge when the fleet has seen too many distinct packages.
  [[nodiscard]] Expected<std::uint32_t> Intern(std::string_view metadata,
                                               const std::optional<std::string>& signature);
  [[nodiscard]] const Offer& at(std::uint32_t id) const { return offers_.at(id); }

 private:
  static constexpr std::size_t kMaxOffers = 1024;
  [[nodiscard]] Expected<Offer> Make(std::string_view metadata,
                                     const std::optional<std::string>& signature);

  DeviceProfile profile_;
  VersionTable& versions_;
  std::deque<Offer> offers_;  // a deque: references to offers and objects stay valid
  std::unordered_map<std::string, std::uint32_t> ids_;  // signature + "\n" + metadata
};

}  // namespace uh::sim
