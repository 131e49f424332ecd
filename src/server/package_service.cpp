#include "server/package_service.hpp"

#include <algorithm>

#include "core/fs.hpp"
#include "core/json.hpp"
#include "package/package_reader.hpp"
#include "package/signature.hpp"

namespace uh::server {
namespace {

constexpr std::string_view kInsufficientStorage = "insufficient storage";

// `text` with every occurrence of `path` replaced by `name`.
std::string Replaced(std::string text, const std::string& path, std::string_view name) {
  if (path.empty()) return text;
  for (auto at = text.find(path); at != std::string::npos; at = text.find(path, at + name.size())) {
    text.replace(at, path.size(), name);
  }
  return text;
}

}  // namespace

Expected<AcceptedPackage> PackageService::Accept(
    const std::filesystem::path& upload,
    const std::function<bool(const std::string& product_uid)>& may_upload_for) {
  auto accepted = AcceptFile(upload, may_upload_for);
  if (accepted) return accepted;
  // The reader names the file it reads ("/srv/.../tmp/uh-upload-X: member ...: bad CRC"), the
  // object store its own: the uploader learns what is wrong with the package, not where the
  // server keeps it.
  std::string message = Replaced(accepted.error().message(), upload.string(), "the package");
  message = Replaced(std::move(message), objects_.dir().string(), "the object store");
  return std::unexpected(Error(accepted.error().code(), std::move(message)));
}

Expected<AcceptedPackage> PackageService::AcceptFile(
    const std::filesystem::path& upload,
    const std::function<bool(const std::string& product_uid)>& may_upload_for) {
  auto reader = package::PackageReader::Open(upload);
  if (!reader) return std::unexpected(reader.error());
  const auto& metadata = reader->metadata();
  if (may_upload_for && !may_upload_for(metadata.product)) {
    return Fail(Errc::kForbidden, "you may not upload packages for product " + metadata.product);
  }

  auto product = store_.GetProduct(metadata.product);
  if (!product) return std::unexpected(product.error());
  if (!*product) return Fail(Errc::kNotFound, "unknown product " + metadata.product);

  if (!reader->is_signed()) {
    return Fail(Errc::kSignature,
                "the package is not signed; devices must only get signed "
                "packages");
  }
  auto keys = store_.ListKeys(metadata.product);
  if (!keys) return std::unexpected(keys.error());
  if (keys->empty()) {
    return Fail(Errc::kSignature, "product " + metadata.product + " has no registered key");
  }
  std::int64_t key_id = 0;
  for (const SigningKey& key : *keys) {
    auto public_key = package::PublicKey::FromPem(key.public_pem);
    if (public_key && reader->VerifySignature(*public_key)) {
      key_id = key.id;
      break;
    }
  }
  if (key_id == 0) {
    return Fail(Errc::kSignature,
                "the signature does not verify with any key registered for "
                "the product");
  }

  // Every object is checked, a known package's too: a known UID with other bytes in an object
  // is a forgery (or a damaged copy), not "already stored".
  UH_TRY(reader->CheckObjects());

  // The same package again: nothing to store. If the key that signed the stored copy is gone
  // and this copy verifies with a registered key, the operator re-signed it: keep the new
  // signature, so that it can be offered again.
  auto existing = store_.GetPackage(reader->uid());
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    const bool key_gone = std::ranges::none_of(
        *keys, [&](const SigningKey& key) { return key.id == (*existing)->key_id; });
    if (key_gone) {
      auto updated = store_.UpdatePackageSignature(reader->uid(), reader->signature(), key_id);
      if (!updated) return std::unexpected(updated.error());
      (*existing)->signature = reader->signature();
      (*existing)->key_id = key_id;
    }
    return AcceptedPackage{std::move(**existing), false};
  }

  // A full disk is the operator's to fix, not the uploader's: 507 saying so, nothing kept.
  auto storing_failed = [](Error error) {
    if (error.code() == Errc::kNoSpace) error = std::move(error).WithContext(kInsufficientStorage);
    return std::unexpected(std::move(error));
  };
  if (auto room = CheckFreeSpace(objects_.dir(), reader->objects_size()); !room) {
    return storing_failed(std::move(room.error()));
  }
  // Objects first, then the row: a stored package never points at a missing object.
  for (const package::Object* object : metadata.DistinctObjects()) {
    if (auto imported = objects_.Import(*reader, *object); !imported) {
      return storing_failed(
          std::move(imported.error()).WithContext("storing object " + object->sha256sum));
    }
  }

  Package row;
  row.uid = reader->uid();
  row.product_uid = metadata.product;
  row.version = metadata.version;
  row.metadata = reader->metadata_bytes();
  row.signature = reader->signature();
  row.supported_hardware = metadata.supported_hardware
                               ? PythonJsonDumps(nlohmann::json(*metadata.supported_hardware))
                               : std::string("\"any\"");
  row.size = reader->objects_size();
  row.key_id = key_id;
  for (const package::Object* object : metadata.DistinctObjects()) {
    row.objects.push_back({object->sha256sum, object->size});
  }
  auto inserted = store_.InsertPackage(row);
  if (!inserted) return std::unexpected(inserted.error());
  auto stored = store_.GetPackage(row.uid);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return Fail(Errc::kInternal, "package vanished after insert");
  return AcceptedPackage{std::move(**stored), *inserted};
}

Expected<bool> PackageService::Delete(const std::string& uid) {
  auto package = store_.GetPackage(uid);
  if (!package) return std::unexpected(package.error());
  if (!*package) return false;
  auto deleted = store_.DeletePackage(uid);
  if (!deleted || !*deleted) return deleted;
  for (const PackageObject& object : (*package)->objects) {
    auto used = store_.ObjectInUse(object.sha256);
    if (used && !*used) UH_TRY(objects_.Remove(object.sha256));
  }
  return true;
}

}  // namespace uh::server
