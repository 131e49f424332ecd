// PostgresStore: products (with their device authentication), signing keys and packages.
//
// Every Write lambda may run more than once (pool.hpp): it builds its result from what it
// reads and writes in that attempt and changes nothing outside the database.

#include <map>
#include <string>
#include <vector>

#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/pool.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/postgres/queries_catalog.hpp"
#include "server/store/postgres/store_helpers.hpp"

namespace uh::server {

using pg::Connection;
using pg::Query;

namespace {

Product ReadProduct(const Query& row) {
  return {row.Text(0),     row.Text(1), row.Text(2), row.Text(3),
          row.Int(4) != 0, row.Text(5), row.Text(6), row.Text(7)};
}

SigningKey ReadKey(const Query& row) {
  return {row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)};
}

// Columns of kSelectPackage and kListPackages; objects are read separately.
Package ReadPackage(const Query& row) {
  Package package;
  package.uid = row.Text(0);
  package.product_uid = row.Text(1);
  package.version = row.Text(2);
  package.metadata = row.Blob(3);
  package.signature = row.Text(4);
  package.supported_hardware = row.Text(5);
  package.size = pg::FromStoredSize(row.Int(6));
  package.key_id = row.Int(7);
  package.created_at = row.Text(8);
  return package;
}

// Columns of kSelectPackageObjects and kListProductPackageObjects: (package_uid, sha256, size).
PackageObject ReadObject(const Query& row) { return {row.Text(1), pg::FromStoredSize(row.Int(2))}; }

Expected<void> InsertObjects(Connection& db, const Package& package) {
  for (const PackageObject& object : package.objects) {
    auto size = pg::ToStoredSize(object.size);
    if (!size) return std::unexpected(std::move(size.error()));
    auto insert = db.Prepare(pg::sql::kInsertPackageObject);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, package.uid);
    insert->BindText(2, object.sha256);
    insert->BindInt(3, *size);
    UH_TRY(insert->Run());
  }
  return {};
}

}  // namespace

Expected<Product> PostgresStore::CreateProduct(const Product& product) {
  Product stored = product;
  stored.created_at = pg::OrNow(product.created_at);
  return pool_->Write("creating product", [&](Connection& db) -> Expected<Product> {
    auto insert = db.Prepare(pg::sql::kInsertProduct);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.uid);
    insert->BindText(2, stored.name);
    insert->BindText(3, stored.created_at);
    insert->BindText(4, stored.device_token_hash);
    insert->BindInt(5, stored.forbid_downgrades ? 1 : 0);
    insert->BindText(6, stored.device_auth);
    insert->BindText(7, stored.enrolment);
    insert->BindText(8, stored.client_ca);
    UH_TRY(insert->Run());
    return stored;
  });
}

Expected<std::optional<Product>> PostgresStore::GetProduct(const std::string& uid) {
  return pool_->Read("reading product", [&](Connection& db) -> Expected<std::optional<Product>> {
    auto select = db.Prepare(pg::sql::kSelectProduct);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, uid);
    return pg::OptionalRow(*select, ReadProduct);
  });
}

Expected<std::vector<Product>> PostgresStore::ListProducts() {
  return pool_->Read("listing products", [&](Connection& db) -> Expected<std::vector<Product>> {
    auto select = db.Prepare(pg::sql::kListProducts);
    if (!select) return std::unexpected(std::move(select.error()));
    return pg::AllRows(*select, ReadProduct);
  });
}

Expected<bool> PostgresStore::SetDeviceTokenHash(const std::string& uid,
                                                 const std::string& token_hash) {
  return pool_->Write("setting the device token", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kSetDeviceTokenHash);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, token_hash);
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<bool> PostgresStore::SetForbidDowngrades(const std::string& uid, bool forbid) {
  return pool_->Write("setting the downgrade rule", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kSetForbidDowngrades);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindInt(2, forbid ? 1 : 0);
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<bool> PostgresStore::SetProductDeviceAuth(const std::string& uid,
                                                   const std::string& device_auth,
                                                   const std::string& enrolment,
                                                   const std::string& client_ca) {
  return pool_->Write("setting device authentication", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kSetProductDeviceAuth);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, device_auth);
    update->BindText(3, enrolment);
    update->BindText(4, client_ca);
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<SigningKey> PostgresStore::AddKey(const SigningKey& key) {
  SigningKey stored = key;
  stored.created_at = pg::OrNow(key.created_at);
  return pool_->Write("adding signing key", [&](Connection& db) -> Expected<SigningKey> {
    auto insert = db.Prepare(pg::sql::kInsertKey);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.product_uid);
    insert->BindText(2, stored.name);
    insert->BindText(3, stored.public_pem);
    insert->BindText(4, stored.fingerprint);
    insert->BindText(5, stored.created_at);
    auto id = pg::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    SigningKey added = stored;
    added.id = *id;
    return added;
  });
}

Expected<std::vector<SigningKey>> PostgresStore::ListKeys(const std::string& product_uid) {
  return pool_->Read("listing signing keys",
                     [&](Connection& db) -> Expected<std::vector<SigningKey>> {
                       auto select = db.Prepare(pg::sql::kListKeys);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindText(1, product_uid);
                       return pg::AllRows(*select, ReadKey);
                     });
}

Expected<std::optional<SigningKey>> PostgresStore::GetKey(std::int64_t id) {
  return pool_->Read("reading signing key",
                     [&](Connection& db) -> Expected<std::optional<SigningKey>> {
                       auto select = db.Prepare(pg::sql::kSelectKey);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, id);
                       return pg::OptionalRow(*select, ReadKey);
                     });
}

Expected<bool> PostgresStore::DeleteKey(std::int64_t id) {
  return pool_->Write("deleting signing key", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(pg::sql::kDeleteKey);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, id);
    UH_TRY(remove->Run());
    return remove->Changes() > 0;
  });
}

Expected<bool> PostgresStore::UpdatePackageSignature(const std::string& uid,
                                                     const std::string& signature,
                                                     std::int64_t key_id) {
  return pool_->Write("re-signing package", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kUpdatePackageSignature);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, signature);
    update->BindInt(3, key_id);
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<bool> PostgresStore::InsertPackage(const Package& package) {
  auto size = pg::ToStoredSize(package.size);
  if (!size) return std::unexpected(std::move(size.error()).WithContext("inserting package"));
  const std::string created_at = pg::OrNow(package.created_at);
  return pool_->Write("inserting package", [&](Connection& db) -> Expected<bool> {
    auto insert = db.Prepare(pg::sql::kInsertPackage);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, package.uid);
    insert->BindText(2, package.product_uid);
    insert->BindText(3, package.version);
    insert->BindBlob(4, package.metadata);
    insert->BindText(5, package.signature);
    insert->BindText(6, package.supported_hardware);
    insert->BindInt(7, *size);
    insert->BindInt(8, package.key_id);
    insert->BindText(9, created_at);
    UH_TRY(insert->Run());
    if (insert->Changes() == 0) return false;  // already stored: leave it as it is
    UH_TRY(InsertObjects(db, package));
    return true;
  });
}

Expected<std::optional<Package>> PostgresStore::GetPackage(const std::string& uid) {
  return pool_->Read("reading package", [&](Connection& db) -> Expected<std::optional<Package>> {
    auto select = db.Prepare(pg::sql::kSelectPackage);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, uid);
    auto row = select->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return std::nullopt;
    Package package = ReadPackage(*select);
    // Same read transaction, so the objects are the package's.
    auto objects = db.Prepare(pg::sql::kSelectPackageObjects);
    if (!objects) return std::unexpected(std::move(objects.error()));
    objects->BindText(1, uid);
    auto read = pg::AllRows(*objects, ReadObject);
    if (!read) return std::unexpected(std::move(read.error()));
    package.objects = std::move(*read);
    return package;
  });
}

Expected<std::vector<Package>> PostgresStore::ListPackages(const std::string& product_uid) {
  return pool_->Read("listing packages", [&](Connection& db) -> Expected<std::vector<Package>> {
    auto select = db.Prepare(pg::sql::kListPackages);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    auto packages = pg::AllRows(*select, ReadPackage);
    if (!packages) return std::unexpected(std::move(packages.error()));
    std::map<std::string, std::size_t, std::less<>> index;  // uid -> position in `packages`
    for (std::size_t i = 0; i < packages->size(); ++i) index.emplace((*packages)[i].uid, i);
    // Same read transaction, so the objects match the packages just read.
    auto objects = db.Prepare(pg::sql::kListProductPackageObjects);
    if (!objects) return std::unexpected(std::move(objects.error()));
    objects->BindText(1, product_uid);
    while (true) {
      auto row = objects->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) return packages;
      if (auto it = index.find(objects->Text(0)); it != index.end()) {
        (*packages)[it->second].objects.push_back(ReadObject(*objects));
      }
    }
  });
}

Expected<bool> PostgresStore::DeletePackage(const std::string& uid) {
  return pool_->Write("deleting package", [&](Connection& db) -> Expected<bool> {
    auto rollout = db.Prepare(pg::sql::kSelectActiveRollout);
    if (!rollout) return std::unexpected(std::move(rollout.error()));
    rollout->BindText(1, uid);
    auto row = rollout->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (*row) {
      return Fail(Errc::kInvalidArgument, "rollout " + std::to_string(rollout->Int(0)) + " (" +
                                              rollout->Text(1) + ") still uses the package");
    }
    auto remove = db.Prepare(pg::sql::kDeletePackage);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindText(1, uid);
    UH_TRY(remove->Run());
    return remove->Changes() > 0;  // its objects go with it (ON DELETE CASCADE)
  });
}

Expected<bool> PostgresStore::ObjectInUse(const std::string& sha256) {
  return pool_->Read("checking object use", [&](Connection& db) -> Expected<bool> {
    auto select = db.Prepare(pg::sql::kObjectInUse);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, sha256);
    auto row = select->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    return *row && select->Int(0) != 0;
  });
}

}  // namespace uh::server
