#pragma once

// How each object of an update travels from where it comes from to its target, decided once at
// validation and saved with the update (update_state.hpp): download and install carry it out,
// and a resumed update follows the plan it saved even when the config changed since.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

enum class Delivery {
  // Through a file in the download directory (downloaded, extracted from the package file, or
  // unpacked there already), installed from it after every object arrived.
  kDownload,
  // Read in place from the local package file into its installer (a pipe), never copied.
  kFromPackage,
  // Piped into its installer while it downloads from the server.
  kPipe,
  // Written straight into its target while it downloads from the server (resumable), and
  // hashed again there before the slot is activated.
  kIntoTarget,
  // Downloaded into a file in the download directory and, as it arrives, written into its
  // target too: install finds it there, hashed as it was written. After a restart the target
  // is hashed again, and written from the file when it no longer matches.
  kDownloadAndTarget,
};

[[nodiscard]] std::string_view DeliveryName(Delivery delivery);
[[nodiscard]] std::optional<Delivery> DeliveryNamed(std::string_view name);

// Where the objects of an update come from.
enum class ObjectSource {
  kServer,       // downloaded from the update server
  kPackageFile,  // read from a package file kept where it is (UpdateState::package_file)
  kUnpacked,     // unpacked from a package file into the download directory before validation
};

// The delivery of every distinct object (by sha256) of the set to install; objects sharing
// content share one entry (always kDownload).
class DeliveryPlan {
 public:
  struct Entry {
    std::string sha256;
    Delivery delivery = Delivery::kDownload;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  DeliveryPlan() = default;
  explicit DeliveryPlan(std::vector<Entry> entries) : entries_(std::move(entries)) {}

  // kDownload for an object the plan does not name.
  [[nodiscard]] Delivery Of(const std::string& sha256) const;
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

  friend bool operator==(const DeliveryPlan&, const DeliveryPlan&) = default;

 private:
  std::vector<Entry> entries_;
};

struct DeliveryInputs {
  bool stream_objects = false;  // update.stream_objects
  ObjectSource source = ObjectSource::kServer;
  // Installed over the running system (one installation set): nothing is written before it is
  // whole and verified, as there is no slot left unactivated when a hash turns out wrong.
  bool in_place = false;
  // Whether the object can be written straight into its target (StreamTargetOf found one); an
  // error (a target that cannot be resolved, CheckRequirements' to report) means no.
  std::function<Expected<bool>(const package::Object&)> fits_into_target;
};

// The plan for `objects` (the set to install, in order). An object is written before install
// only when the update goes into the inactive slot, no other object shares its content, and no
// object before it with the same target waits for install (written later, it would come first:
// writes to one target keep the package's order). Then, by the installer table's capabilities:
// with streaming on, from a package file, kFromPackage when its installer takes a pipe; from the
// server, kIntoTarget when it fits, else kPipe when its installer takes a pipe. With streaming
// off, from the server, kDownloadAndTarget when it fits. Everything else is kDownload.
[[nodiscard]] DeliveryPlan PlanDelivery(const std::vector<package::Object>& objects,
                                        const DeliveryInputs& inputs);

}  // namespace uh::agent
