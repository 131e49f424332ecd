#pragma once

// Accepting packages: a package reaches devices only when it is well formed, every object
// matches its hash, its product is known and its signature verifies against one of the
// product's registered keys. Nothing is stored otherwise.

#include <filesystem>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "server/object_store.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct AcceptedPackage {
  Package package;
  bool created = false;  // false: the same package was already there (idempotent upload)
};

class PackageService {
 public:
  PackageService(Store& store, ObjectStore& objects) : store_(store), objects_(objects) {}

  // Verifies the uploaded file and stores the package. Errors: kMalformed/kIntegrity/kTooLarge
  // (bad package), kNotFound (unknown product), kSignature (unsigned or no registered key
  // verifies it), kNoSpace.
  // `may_upload_for` (when set) is asked about the package's product before anything is
  // stored; false fails with kForbidden. Error messages name no file of the server (the
  // upload's temporary file, the object store): they reach the uploader.
  [[nodiscard]] Expected<AcceptedPackage> Accept(
      const std::filesystem::path& upload,
      const std::function<bool(const std::string& product_uid)>& may_upload_for = {});

  // Deletes a package no rollout uses, and the objects no other package references.
  [[nodiscard]] Expected<bool> Delete(const std::string& uid);

 private:
  [[nodiscard]] Expected<AcceptedPackage> AcceptFile(
      const std::filesystem::path& upload,
      const std::function<bool(const std::string& product_uid)>& may_upload_for);

  Store& store_;
  ObjectStore& objects_;
};

}  // namespace uh::server
