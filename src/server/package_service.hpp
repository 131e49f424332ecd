#pragma once

// Accepting packages: a package reaches devices only when it is well formed, every object
// matches its hash, its product is known and its signature verifies against one of the
// product's registered keys. Nothing is stored otherwise.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "package/package_stream.hpp"
#include "server/http/http.hpp"
#include "server/http/temp_file.hpp"
#include "server/object_store.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct AcceptedPackage {
  Package package;
  bool created = false;  // false: the same package was already there (idempotent upload)
};

// A package upload as its bytes arrive (PackageService::BeginUpload): each object goes into a
// file beside its place in the object store and is hashed on the way (package::PackageStream),
// so that accepting the package reads no byte again and moves the objects instead of copying
// them. A body that cannot be taken apart that way is kept whole, as a file, instead.
class PackageUpload final : public http::BodySink {
 public:
  ~PackageUpload() override;
  PackageUpload(const PackageUpload&) = delete;
  PackageUpload& operator=(const PackageUpload&) = delete;

  [[nodiscard]] Expected<void> Write(std::span<const std::byte> bytes) override;

 private:
  friend class PackageService;
  PackageUpload(const ObjectStore& objects, std::filesystem::path temp_dir);

  std::filesystem::path temp_dir_;
  std::vector<std::filesystem::path> object_dirs_;  // where objects were staged
  std::optional<http::TempFile> copy_;              // the body as a file, when it is not split
  package::PackageStream stream_;
};

class PackageService {
 public:
  PackageService(Store& store, ObjectStore& objects) : store_(store), objects_(objects) {}

  // Starts receiving an upload (see PackageUpload); a body kept whole goes to `temp_dir`.
  [[nodiscard]] std::shared_ptr<PackageUpload> BeginUpload(std::filesystem::path temp_dir) const;
  // Accept, once the whole body went through `upload`: the same checks and answers as for the
  // body as a file.
  [[nodiscard]] Expected<AcceptedPackage> Accept(
      PackageUpload& upload,
      const std::function<bool(const std::string& product_uid)>& may_upload_for = {});

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
  struct Objects;  // how the objects of a package being accepted are checked and stored
  [[nodiscard]] Expected<AcceptedPackage> AcceptReader(
      const package::PackageReader& reader, const Objects& objects,
      const std::function<bool(const std::string& product_uid)>& may_upload_for);
  // An error whose message reaches the uploader: it names no file of the server.
  [[nodiscard]] Error ForUploader(const Error& error, const std::filesystem::path& upload) const;

  Store& store_;
  ObjectStore& objects_;
};

}  // namespace uh::server
