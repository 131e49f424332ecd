// packages: list, show, upload (with a progress bar on a terminal), delete.

#include "tools/admin/cli.hpp"
#include "tools/admin/table.hpp"
#include "tools/pkg/progress.hpp"

namespace uh::admin {

using nlohmann::json;

namespace {

struct PackageFlags {
  std::string product;
  std::string uid;
  std::string file;
};

std::string SizeOf(const json& package) {
  if (!package.is_object() || !package.contains("size") || !package["size"].is_number()) {
    return "-";
  }
  return HumanBytes(package["size"].get<double>());
}

std::string PackageTable(const json& reply) {
  Table table({"UID", "VERSION", "HARDWARE", "SIZE", "SIGNED", "CREATED"});
  for (const auto& package : ListIn(reply, "packages")) {
    table.AddRow({Field(package, "uid"), Field(package, "version"),
                  Field(package, "supported_hardware"), SizeOf(package), Field(package, "signed"),
                  Field(package, "created_at")});
  }
  return table.Render();
}

std::string PackageView(const json& package) {
  std::string out = KeyValues({{"uid", Field(package, "uid")},
                               {"product", Field(package, "product")},
                               {"version", Field(package, "version")},
                               {"hardware", Field(package, "supported_hardware")},
                               {"size", SizeOf(package)},
                               {"signed", Field(package, "signed")},
                               {"key", Field(package, "key_id")},
                               {"created", Field(package, "created_at")}});
  Table objects({"OBJECT SHA256", "SIZE"});
  for (const auto& object : ListIn(package, "objects")) {
    objects.AddRow({Field(object, "sha256"), SizeOf(object)});
  }
  if (!objects.empty()) out += "\n" + objects.Render();
  return out;
}

Expected<void> Upload(const Cli& cli, const PackageFlags& flags) {
  auto client = Connect(cli);
  if (!client) return std::unexpected(client.error());
  std::error_code error;
  const auto size = std::filesystem::file_size(flags.file, error);
  if (error)
    return Fail(Errc::kInvalidArgument, "cannot read " + flags.file + ": " + error.message());
  tools::ProgressBar bar("uploading", size);
  auto reply = client->SendFile("/api/v1/packages", flags.file,
                                [&bar](std::uint64_t sent) { bar.Update(sent); });
  bar.Finish();
  if (!reply) return std::unexpected(reply.error().WithContext("uploading " + flags.file));
  auto package = ReplyJson(*reply);
  if (!package) {
    return std::unexpected(package.error().WithContext("the server refused " + flags.file));
  }
  const bool stored_now = reply->status == 201;
  return Output(cli, package, [stored_now](const json& stored) {
    return std::string(stored_now ? "stored" : "already stored (objects checked again)") + "\n" +
           PackageView(stored);
  });
}

}  // namespace

void RegisterPackageCommands(CLI::App& app, Cli& cli) {
  auto flags = std::make_shared<PackageFlags>();
  auto* packages = app.add_subcommand("packages", "list, show, upload and delete packages");
  packages->require_subcommand(1);

  auto* list = packages->add_subcommand("list", "list a product's packages");
  list->add_option("-p,--product", flags->product, "product UID (or UPDATEHUB_PRODUCT)")
      ->envname("UPDATEHUB_PRODUCT")
      ->required();
  OnRun(list, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "GET", "/api/v1/packages?product=" + UrlEncode(flags->product)),
                  PackageTable);
  });

  auto* show = packages->add_subcommand("show", "show a package and its objects");
  show->add_option("uid", flags->uid, "package UID")->required();
  OnRun(show, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "GET", "/api/v1/packages/" + UrlEncode(flags->uid)),
                  PackageView);
  });

  auto* upload = packages->add_subcommand(
      "upload", "upload a .uhupkg; the server stores it only when it verifies");
  upload->add_option("file", flags->file, "the package (.uhupkg)")
      ->required()
      ->check(CLI::ExistingFile);
  OnRun(upload, cli, [&cli, flags] { return Upload(cli, *flags); });

  auto* remove = packages->add_subcommand("delete", "delete a package no active rollout uses");
  remove->add_option("uid", flags->uid, "package UID")->required();
  OnRun(remove, cli, [&cli, flags] {
    return Output(cli, CallApi(cli, "DELETE", "/api/v1/packages/" + UrlEncode(flags->uid)),
                  [&flags](const json&) { return "package " + flags->uid + " deleted\n"; });
  });
}

}  // namespace uh::admin
