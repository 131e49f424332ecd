// products (list, create) and keys (list, add, delete): the products and their signing keys.

#include "core/fs.hpp"
#include "tools/admin/cli.hpp"
#include "tools/admin/table.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

std::string ProductTable(const json& reply) {
  Table table({"UID", "NAME", "DEVICE AUTH", "NO DOWNGRADES", "CREATED"});
  for (const auto& product : ListIn(reply, "products")) {
    table.AddRow({Field(product, "uid"), Field(product, "name"), Field(product, "device_auth"),
                  Field(product, "forbid_downgrades"), Field(product, "created_at")});
  }
  return table.Render();
}

struct ProductFlags {
  std::string name;
  std::string uid;
};

Expected<void> CreateProduct(const Cli& cli, const ProductFlags& flags) {
  json body = {{"name", flags.name}};
  if (!flags.uid.empty()) body["uid"] = flags.uid;
  return Output(cli, CallApi(cli, "POST", "/api/v1/products", body), [](const json& product) {
    return KeyValues({{"uid", Field(product, "uid")}, {"name", Field(product, "name")}});
  });
}

struct KeyFlags {
  std::string product;
  std::string file;
  std::string name;
  std::int64_t id = 0;
};

std::string KeyTable(const json& reply) {
  Table table({"ID", "NAME", "FINGERPRINT", "CREATED"});
  for (const auto& key : ListIn(reply, "keys")) {
    table.AddRow({Field(key, "id"), Field(key, "name"), Field(key, "fingerprint"),
                  Field(key, "created_at")});
  }
  return table.Render();
}

Expected<void> AddKey(const Cli& cli, const KeyFlags& flags) {
  auto pem = ReadFileLimited(flags.file, kMaxKeyFileBytes);
  if (!pem) {
    return Fail(Errc::kInvalidArgument, "reading " + flags.file + ": " + pem.error().message());
  }
  const std::string name =
      flags.name.empty() ? std::filesystem::path(flags.file).filename().string() : flags.name;
  return Output(cli,
                CallApi(cli, "POST", "/api/v1/products/" + UrlEncode(flags.product) + "/keys",
                        json{{"name", name}, {"public_key", *pem}}),
                [](const json& key) {
                  return KeyValues({{"id", Field(key, "id")},
                                    {"name", Field(key, "name")},
                                    {"fingerprint", Field(key, "fingerprint")}});
                });
}

}  // namespace

void RegisterProductCommands(CLI::App& app, Cli& cli) {
  auto* products = app.add_subcommand("products", "list and create products");
  products->require_subcommand(1);
  OnRun(products->add_subcommand("list", "list the products"), cli,
        [&cli] { return Output(cli, CallApi(cli, "GET", "/api/v1/products"), ProductTable); });
  auto flags = std::make_shared<ProductFlags>();
  auto* create = products->add_subcommand("create", "create a product");
  create->add_option("name", flags->name, "the product's name")->required();
  create->add_option("--uid", flags->uid, "its UID (64 hex digits; default: generated)");
  OnRun(create, cli, [&cli, flags] { return CreateProduct(cli, *flags); });
}

void RegisterKeyCommands(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<KeyFlags>();
  auto* keys = app.add_subcommand("keys", "the public keys a product's packages are signed with");
  keys->require_subcommand(1);
  auto* list = keys->add_subcommand("list", "list a product's keys");
  list->add_option("-p,--product", flags->product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT")
      ->required();
  OnRun(list, cli, [&cli, flags] {
    return Output(cli,
                  CallApi(cli, "GET", "/api/v1/products/" + UrlEncode(flags->product) + "/keys"),
                  KeyTable);
  });

  auto* add = keys->add_subcommand("add", "register a public key (PEM) for a product");
  add->add_option("-p,--product", flags->product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT")
      ->required();
  add->add_option("file", flags->file, "the public key, PEM (updatehub-pkg keygen's key.pub)")
      ->required()
      ->check(CLI::ExistingFile);
  add->add_option("--name", flags->name, "a name for it (default: the file's name)");
  OnRun(add, cli, [&cli, flags] { return AddKey(cli, *flags); });

  auto* remove = keys->add_subcommand("delete", "delete (revoke) a key");
  remove->add_option("id", flags->id, "the key's id (keys list)")->required();
  OnRun(remove, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "DELETE", "/api/v1/keys/" + std::to_string(flags->id)),
                  [&flags](const json&) {
                    return "key " + std::to_string(flags->id) +
                           " deleted: nothing it signed is offered any more\n";
                  });
  });
}

}  // namespace uh::admin
