#include "server/package_service.hpp"

#include <unistd.h>

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

// How the objects of a package being accepted are checked and stored: read out of the uploaded
// file, or already received into staged files of the object store (PackageUpload).
struct PackageService::Objects {
  std::function<Expected<void>()> check;  // every object matches its sha256
  std::function<Expected<void>(const package::Object&)> store;
  bool check_room = true;  // whether the objects still need room in the object store
};

PackageUpload::PackageUpload(const ObjectStore& objects, std::filesystem::path temp_dir)
    : temp_dir_(std::move(temp_dir)),
      stream_(
          [this, &objects](std::string_view sha256, std::uint64_t size) {
            object_dirs_.push_back(objects.PathOf(sha256).parent_path());
            return objects.Stage(sha256, size);
          },
          [this]() -> Expected<File> {
            auto temp = http::TempFile::Create(temp_dir_);
            if (!temp) return std::unexpected(temp.error());
            copy_.emplace(std::move(*temp));
            return File(copy_->ReleaseFd());
          }) {}

PackageUpload::~PackageUpload() {
  // The files of objects not committed are gone with stream_; so go the directories made for
  // them, when nothing else is in them (a refused upload leaves the object store as it was).
  stream_ = package::PackageStream({}, {});
  for (const auto& dir : object_dirs_) ::rmdir(dir.c_str());
}

Expected<void> PackageUpload::Write(std::span<const std::byte> bytes) {
  auto written = stream_.Write(bytes);
  if (written || written.error().code() == Errc::kNoSpace) return written;  // 507
  // Any other failure to keep the bytes is the server's (500), whatever errno said.
  return Fail(Errc::kIo, written.error().message());
}

std::shared_ptr<PackageUpload> PackageService::BeginUpload(std::filesystem::path temp_dir) const {
  return std::shared_ptr<PackageUpload>(new PackageUpload(objects_, std::move(temp_dir)));
}

Error PackageService::ForUploader(const Error& error, const std::filesystem::path& upload) const {
  // The reader names the file it reads ("/srv/.../tmp/uh-upload-X: member ...: bad CRC"), the
  // object store its own: the uploader learns what is wrong with the package, not where the
  // server keeps it.
  std::string message = Replaced(error.message(), upload.string(), "the package");
  message = Replaced(std::move(message), objects_.dir().string(), "the object store");
  return Error(error.code(), std::move(message));
}

Expected<AcceptedPackage> PackageService::Accept(
    const std::filesystem::path& upload,
    const std::function<bool(const std::string& product_uid)>& may_upload_for) {
  auto accepted = [&]() -> Expected<AcceptedPackage> {
    auto reader = package::PackageReader::Open(upload);
    if (!reader) return std::unexpected(reader.error());
    const Objects objects{
        .check = [&] { return reader->CheckObjects(); },
        .store = [&](const package::Object& object) { return objects_.Import(*reader, object); },
    };
    return AcceptReader(*reader, objects, may_upload_for);
  }();
  if (!accepted) return std::unexpected(ForUploader(accepted.error(), upload));
  return accepted;
}

Expected<AcceptedPackage> PackageService::Accept(
    PackageUpload& upload,
    const std::function<bool(const std::string& product_uid)>& may_upload_for) {
  const std::filesystem::path label = "the package";
  auto split = upload.stream_.Finish(label);
  if (!split) return std::unexpected(ForUploader(split.error(), label));
  if (!*split) return Accept(upload.copy_->path(), may_upload_for);  // kept whole

  // Every object was hashed as it arrived; each is moved into place once the package is
  // accepted, and the files of those that are not go with `upload`.
  auto& streamed = (*split)->objects;
  const Objects objects{
      .check = [&]() -> Expected<void> {
        for (const package::StreamedObject& object : streamed) {
          if (object.digest != object.sha256) {
            return Fail(Errc::kIntegrity, label.string() + ": object " + object.sha256 +
                                              " does not match its sha256");
          }
        }
        return {};
      },
      .store = [&](const package::Object& object) -> Expected<void> {
        for (package::StreamedObject& received : streamed) {
          if (received.sha256 == object.sha256sum) {
            return objects_.Commit(received.sha256, std::move(received.file));
          }
        }
        return Fail(Errc::kInternal, "object " + object.sha256sum + " was not received");
      },
      .check_room = false,  // the objects are on the disk already
  };
  auto accepted = AcceptReader((*split)->reader, objects, may_upload_for);
  if (!accepted) return std::unexpected(ForUploader(accepted.error(), label));
  return accepted;
}

Expected<AcceptedPackage> PackageService::AcceptReader(
    const package::PackageReader& reader, const Objects& objects,
    const std::function<bool(const std::string& product_uid)>& may_upload_for) {
  const auto& metadata = reader.metadata();
  if (may_upload_for && !may_upload_for(metadata.product)) {
    return Fail(Errc::kForbidden, "you may not upload packages for product " + metadata.product);
  }

  auto product = store_.GetProduct(metadata.product);
  if (!product) return std::unexpected(product.error());
  if (!*product) return Fail(Errc::kNotFound, "unknown product " + metadata.product);

  if (!reader.is_signed()) {
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
    if (public_key && reader.VerifySignature(*public_key)) {
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
  UH_TRY(objects.check());

  // The same package again: nothing to store. If the key that signed the stored copy is gone
  // and this copy verifies with a registered key, the operator re-signed it: keep the new
  // signature, so that it can be offered again.
  auto existing = store_.GetPackage(reader.uid());
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    const bool key_gone = std::ranges::none_of(
        *keys, [&](const SigningKey& key) { return key.id == (*existing)->key_id; });
    if (key_gone) {
      auto updated = store_.UpdatePackageSignature(reader.uid(), reader.signature(), key_id);
      if (!updated) return std::unexpected(updated.error());
      (*existing)->signature = reader.signature();
      (*existing)->key_id = key_id;
    }
    return AcceptedPackage{std::move(**existing), false};
  }

  // A full disk is the operator's to fix, not the uploader's: 507 saying so, nothing kept.
  auto storing_failed = [](Error error) {
    if (error.code() == Errc::kNoSpace) error = std::move(error).WithContext(kInsufficientStorage);
    return std::unexpected(std::move(error));
  };
  if (objects.check_room) {
    if (auto room = CheckFreeSpace(objects_.dir(), reader.objects_size()); !room) {
      return storing_failed(std::move(room.error()));
    }
  }
  // Objects first, then the row: a stored package never points at a missing object.
  for (const package::Object* object : metadata.DistinctObjects()) {
    if (auto imported = objects.store(*object); !imported) {
      return storing_failed(
          std::move(imported.error()).WithContext("storing object " + object->sha256sum));
    }
  }

  Package row;
  row.uid = reader.uid();
  row.product_uid = metadata.product;
  row.version = metadata.version;
  row.metadata = reader.metadata_bytes();
  row.signature = reader.signature();
  row.supported_hardware = metadata.supported_hardware
                               ? PythonJsonDumps(nlohmann::json(*metadata.supported_hardware))
                               : std::string("\"any\"");
  row.size = reader.objects_size();
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
