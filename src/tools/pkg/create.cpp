#include <algorithm>
#include <filesystem>
#include <iostream>

#include "package/package_reader.hpp"
#include "package/package_writer.hpp"
#include "package/signature.hpp"
#include "tools/pkg/commands.hpp"
#include "tools/pkg/package_spec.hpp"
#include "tools/pkg/progress.hpp"

namespace uh::tools {
namespace {

struct CreateOptions {
  std::string product;
  std::string version;
  std::vector<std::string> hardware;
  std::vector<std::string> objects;
  std::filesystem::path from;
  bool single_set = false;
  std::filesystem::path key;
  bool unsigned_package = false;
  std::filesystem::path out;
};

Expected<PackageSpec> Spec(const CreateOptions& options) {
  PackageSpec spec;
  if (!options.from.empty()) {
    auto loaded = LoadPackageSpec(options.from);
    if (!loaded) return loaded;
    spec = std::move(*loaded);
  }
  if (!options.product.empty()) spec.product = options.product;
  if (!options.version.empty()) spec.version = options.version;
  if (!options.hardware.empty()) {
    spec.hardware = options.hardware;
    const bool any =
        std::ranges::all_of(options.hardware, [](const auto& name) { return name == "any"; });
    if (any) spec.hardware.reset();
  }
  spec.single_set = spec.single_set || options.single_set;
  for (const auto& text : options.objects) {
    auto object = ParseObjectSpec(text);
    if (!object) return std::unexpected(object.error().WithContext("--object"));
    spec.objects.push_back(std::move(*object));
  }
  if (spec.product.empty()) return Fail(Errc::kInvalidArgument, "--product is required");
  if (spec.version.empty()) return Fail(Errc::kInvalidArgument, "--version is required");
  return spec;
}

Expected<void> Create(const CreateOptions& options) {
  if (options.key.empty() && !options.unsigned_package) {
    return Fail(Errc::kInvalidArgument,
                "--key is required (or --unsigned for a package devices with a key will refuse)");
  }
  auto spec = Spec(options);
  if (!spec) return std::unexpected(spec.error());
  std::optional<package::PrivateKey> key;
  if (!options.key.empty()) {
    auto loaded = package::PrivateKey::Load(options.key);
    if (!loaded) return std::unexpected(loaded.error());
    key = std::move(*loaded);
  }

  BuiltPackage built;
  {
    ProgressBar bar("hashing", InputBytes(*spec));
    auto result = BuildPackage(*spec, [&](std::uint64_t done) { bar.Update(done); });
    if (!result) return std::unexpected(result.error());
    built = std::move(*result);
  }
  const std::string metadata = package::SerializeMetadata(built.metadata);
  // What devices and servers will accept (see package::ReaderLimits).
  if (metadata.size() > package::ReaderLimits{}.max_metadata_bytes) {
    return Fail(Errc::kInvalidArgument,
                "the metadata would be " + std::to_string(metadata.size()) +
                    " bytes, more than the 1 MiB readers accept: use fewer objects or shorter "
                    "values");
  }
  std::string signature;
  if (key) {
    auto signed_text = key->SignBase64(metadata);
    if (!signed_text) return std::unexpected(signed_text.error());
    signature = std::move(*signed_text);
  }

  auto writer = package::PackageWriter::Create(options.out);
  if (!writer) return std::unexpected(writer.error());
  UH_TRY(writer->AddMember("signature", signature));
  UH_TRY(writer->AddMember("metadata", metadata));
  ProgressBar bar("writing", built.total_size);
  std::uint64_t base = 0;
  for (const auto& [sha256, file] : built.files) {
    bar.SetBase(base);
    const auto size = std::filesystem::file_size(file);
    UH_TRY(
        writer->AddFileMember(sha256, file, size, [&](std::uint64_t done) { bar.Update(done); }));
    base += size;
  }
  UH_TRY(writer->Finish());
  bar.Finish();
  std::cout << options.out.string() << "\n"
            << "uid: " << Sha256Hex(metadata) << "\n"
            << "version: " << built.metadata.version << "\n"
            << "signed: " << (key ? "yes" : "no") << "\n";
  return {};
}

}  // namespace

void RegisterCreate(CLI::App& app, int& status) {
  auto options = std::make_shared<CreateOptions>();
  auto* cmd = app.add_subcommand("create", "Build a package from image files and sign it");
  cmd->add_option("--product", options->product, "Product UID (64 hex digits)");
  cmd->add_option("--version", options->version, "Version the device runs after the update");
  cmd->add_option("--hardware", options->hardware,
                  "Supported hardware names, comma-separated (repeatable; written sorted, each "
                  "once; default: any)")
      ->delimiter(',');
  cmd->add_option("--object", options->objects,
                  "Object: FILE,mode=MODE,key=value,...,b.key=value (repeatable)");
  cmd->add_option("--from", options->from, "JSON or TOML file describing the package")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--single-set", options->single_set,
                "One installation set instead of one per A/B slot");
  cmd->add_option("--key", options->key, "Private key (PEM) to sign with");
  cmd->add_flag("--unsigned", options->unsigned_package, "Build an unsigned package");
  cmd->add_option("-o,--output", options->out, "Package file to write")->required();
  cmd->footer(
      "Object options are metadata fields: target, target-type, target-path, filesystem,\n"
      "format (format?), format-options, mount-options, target-mode, target-uid, target-gid,\n"
      "chunk-size, skip, seek, count, truncate, compressed, install-if-different, ...\n"
      "size, sha256sum, compressed and required-uncompressed-size are computed.\n"
      "Objects are written sorted by file name, as uhu writes them.\n"
      "Example: --object rootfs.img,mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3");
  cmd->callback([options, &status] {
    auto result = Create(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
