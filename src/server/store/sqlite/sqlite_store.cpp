// SqliteStore: opening, products, signing keys and packages. Devices, reports, users and
// tokens are in sqlite_store_devices.cpp, rollouts in sqlite_store_rollouts.cpp.

#include "server/store/sqlite/sqlite_store.hpp"

#include <map>
#include <system_error>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/migrations.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

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
  package.size = sqlite::FromStoredSize(row.Int(6));
  package.key_id = row.Int(7);
  package.created_at = row.Text(8);
  return package;
}

// Columns of kSelectPackageObjects and kListProductPackageObjects: (package_uid, sha256, size).
PackageObject ReadObject(const Query& row) {
  return {row.Text(1), sqlite::FromStoredSize(row.Int(2))};
}

Expected<void> InsertObjects(Connection& db, const Package& package) {
  for (const PackageObject& object : package.objects) {
    auto size = sqlite::ToStoredSize(object.size);
    if (!size) return std::unexpected(std::move(size.error()));
    auto insert = db.Prepare(sqlite::sql::kInsertPackageObject);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, package.uid);
    insert->BindText(2, object.sha256);
    insert->BindInt(3, *size);
    UH_TRY(insert->Run());
  }
  return {};
}

}  // namespace

Expected<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path) {
  const std::string context = "opening store " + path.string();
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) return Fail(Errc::kIo, context + ": creating its directory: " + error.message());
  }
  auto writer = Connection::Open(path, Connection::Role::kWriter);
  if (!writer) return std::unexpected(std::move(writer.error()).WithContext(context));
  UH_TRY_CTX(sqlite::ApplyMigrations(**writer, sqlite::EmbeddedMigrations()), context);
  auto pool = std::make_unique<sqlite::ConnectionPool>(path, std::move(*writer));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(pool)));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::ConnectionPool> pool) : pool_(std::move(pool)) {}

SqliteStore::~SqliteStore() = default;

Expected<Product> SqliteStore::CreateProduct(const Product& product) {
  Product stored = product;
  stored.created_at = sqlite::OrNow(product.created_at);
  return pool_->Write("creating product", [&](Connection& db) -> Expected<Product> {
    auto insert = db.Prepare(sqlite::sql::kInsertProduct);
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

Expected<std::optional<Product>> SqliteStore::GetProduct(const std::string& uid) {
  return pool_->Read("reading product", [&](Connection& db) -> Expected<std::optional<Product>> {
    auto select = db.Prepare(sqlite::sql::kSelectProduct);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, uid);
    return sqlite::OptionalRow(*select, ReadProduct);
  });
}

Expected<std::vector<Product>> SqliteStore::ListProducts() {
  return pool_->Read("listing products", [&](Connection& db) -> Expected<std::vector<Product>> {
    auto select = db.Prepare(sqlite::sql::kListProducts);
    if (!select) return std::unexpected(std::move(select.error()));
    return sqlite::AllRows(*select, ReadProduct);
  });
}

Expected<bool> SqliteStore::SetDeviceTokenHash(const std::string& uid,
                                               const std::string& token_hash) {
  return pool_->Write("setting the device token", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetDeviceTokenHash);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, token_hash);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<bool> SqliteStore::SetForbidDowngrades(const std::string& uid, bool forbid) {
  return pool_->Write("setting the downgrade rule", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetForbidDowngrades);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindInt(2, forbid ? 1 : 0);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<SigningKey> SqliteStore::AddKey(const SigningKey& key) {
  SigningKey stored = key;
  stored.created_at = sqlite::OrNow(key.created_at);
  return pool_->Write("adding signing key", [&](Connection& db) -> Expected<SigningKey> {
    auto insert = db.Prepare(sqlite::sql::kInsertKey);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.product_uid);
    insert->BindText(2, stored.name);
    insert->BindText(3, stored.public_pem);
    insert->BindText(4, stored.fingerprint);
    insert->BindText(5, stored.created_at);
    auto id = sqlite::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    stored.id = *id;
    return stored;
  });
}

Expected<std::vector<SigningKey>> SqliteStore::ListKeys(const std::string& product_uid) {
  return pool_->Read("listing signing keys",
                     [&](Connection& db) -> Expected<std::vector<SigningKey>> {
                       auto select = db.Prepare(sqlite::sql::kListKeys);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindText(1, product_uid);
                       return sqlite::AllRows(*select, ReadKey);
                     });
}

Expected<std::optional<SigningKey>> SqliteStore::GetKey(std::int64_t id) {
  return pool_->Read("reading signing key",
                     [&](Connection& db) -> Expected<std::optional<SigningKey>> {
                       auto select = db.Prepare(sqlite::sql::kSelectKey);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, id);
                       return sqlite::OptionalRow(*select, ReadKey);
                     });
}

Expected<bool> SqliteStore::DeleteKey(std::int64_t id) {
  return pool_->Write("deleting signing key", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(sqlite::sql::kDeleteKey);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, id);
    UH_TRY(remove->Run());
    return db.Changes() > 0;
  });
}

Expected<bool> SqliteStore::UpdatePackageSignature(const std::string& uid,
                                                   const std::string& signature,
                                                   std::int64_t key_id) {
  return pool_->Write("re-signing package", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kUpdatePackageSignature);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, uid);
    update->BindText(2, signature);
    update->BindInt(3, key_id);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<bool> SqliteStore::InsertPackage(const Package& package) {
  auto size = sqlite::ToStoredSize(package.size);
  if (!size) return std::unexpected(std::move(size.error()).WithContext("inserting package"));
  const std::string created_at = sqlite::OrNow(package.created_at);
  return pool_->Write("inserting package", [&](Connection& db) -> Expected<bool> {
    auto insert = db.Prepare(sqlite::sql::kInsertPackage);
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
    if (db.Changes() == 0) return false;  // already stored: leave it as it is
    UH_TRY(InsertObjects(db, package));
    return true;
  });
}

Expected<std::optional<Package>> SqliteStore::GetPackage(const std::string& uid) {
  return pool_->Read("reading package", [&](Connection& db) -> Expected<std::optional<Package>> {
    auto select = db.Prepare(sqlite::sql::kSelectPackage);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, uid);
    auto row = select->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return std::nullopt;
    Package package = ReadPackage(*select);
    auto objects = db.Prepare(sqlite::sql::kSelectPackageObjects);
    if (!objects) return std::unexpected(std::move(objects.error()));
    objects->BindText(1, uid);
    while (true) {
      auto object = objects->Step();
      if (!object) return std::unexpected(std::move(object.error()));
      if (!*object) return package;
      package.objects.push_back(ReadObject(*objects));
    }
  });
}

Expected<std::vector<Package>> SqliteStore::ListPackages(const std::string& product_uid) {
  return pool_->Read("listing packages", [&](Connection& db) -> Expected<std::vector<Package>> {
    auto select = db.Prepare(sqlite::sql::kListPackages);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, product_uid);
    std::vector<Package> packages;
    std::map<std::string, std::size_t, std::less<>> index;  // uid -> position in `packages`
    while (true) {
      auto row = select->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) break;
      packages.push_back(ReadPackage(*select));
      index.emplace(packages.back().uid, packages.size() - 1);
    }
    // Same read transaction, so the objects match the packages just read.
    auto objects = db.Prepare(sqlite::sql::kListProductPackageObjects);
    if (!objects) return std::unexpected(std::move(objects.error()));
    objects->BindText(1, product_uid);
    while (true) {
      auto row = objects->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) return packages;
      if (auto it = index.find(objects->Text(0)); it != index.end()) {
        packages[it->second].objects.push_back(ReadObject(*objects));
      }
    }
  });
}

Expected<bool> SqliteStore::DeletePackage(const std::string& uid) {
  return pool_->Write("deleting package", [&](Connection& db) -> Expected<bool> {
    auto rollout = db.Prepare(sqlite::sql::kSelectActiveRollout);
    if (!rollout) return std::unexpected(std::move(rollout.error()));
    rollout->BindText(1, uid);
    auto row = rollout->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (*row) {
      return Fail(Errc::kInvalidArgument, "rollout " + std::to_string(rollout->Int(0)) + " (" +
                                              rollout->Text(1) + ") still uses the package");
    }
    auto remove = db.Prepare(sqlite::sql::kDeletePackage);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindText(1, uid);
    UH_TRY(remove->Run());
    return db.Changes() > 0;  // its objects go with it (ON DELETE CASCADE)
  });
}

Expected<bool> SqliteStore::ObjectInUse(const std::string& sha256) {
  return pool_->Read("checking object use", [&](Connection& db) -> Expected<bool> {
    auto select = db.Prepare(sqlite::sql::kObjectInUse);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, sha256);
    auto row = select->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    return *row && select->Int(0) != 0;
  });
}

}  // namespace uh::server
