#include <filesystem>
#include <iostream>

#include "package/package_reader.hpp"
#include "package/package_writer.hpp"
#include "package/signature.hpp"
#include "tools/pkg/commands.hpp"
#include "tools/pkg/progress.hpp"

namespace uh::tools {
namespace {

struct SignOptions {
  std::filesystem::path package;
  std::filesystem::path key;
  std::filesystem::path out;
};

// Rewrites the package with a new signature; metadata bytes (hence the UID) and objects are
// copied as they are, each object's hash checked on the way.
Expected<void> Sign(const SignOptions& options) {
  auto key = package::PrivateKey::Load(options.key);
  if (!key) return std::unexpected(key.error());
  auto pkg = package::PackageReader::Open(options.package);
  if (!pkg) return std::unexpected(pkg.error());
  auto signature = key->SignBase64(pkg->metadata_bytes());
  if (!signature) return std::unexpected(signature.error());

  const auto out = options.out.empty() ? options.package : options.out;
  auto writer = package::PackageWriter::Create(out);
  if (!writer) return std::unexpected(writer.error());
  UH_TRY(writer->AddMember("signature", *signature));
  UH_TRY(writer->AddMember("metadata", pkg->metadata_bytes()));
  ProgressBar bar("signing", pkg->objects_size());
  std::uint64_t base = 0;
  for (const package::Object* object : pkg->metadata().DistinctObjects()) {
    bar.SetBase(base);
    UH_TRY(writer->BeginMember(object->sha256sum, object->size));
    UH_TRY(pkg->ReadObject(
        object->sha256sum,
        [&](std::span<const std::byte> bytes) { return writer->WriteData(bytes); },
        [&](std::uint64_t done) { bar.Update(done); }));
    base += object->size;
  }
  UH_TRY(writer->Finish());
  bar.Finish();
  std::cout << out.string() << "\nuid: " << pkg->uid() << "\nsigned: yes\n";
  return {};
}

}  // namespace

void RegisterSign(CLI::App& app, int& status) {
  auto options = std::make_shared<SignOptions>();
  auto* cmd = app.add_subcommand("sign", "Sign (or re-sign) a package; its UID does not change");
  cmd->add_option("package", options->package, "Package file")->required();
  cmd->add_option("--key", options->key, "Private key (PEM)")->required();
  cmd->add_option("-o,--output", options->out, "Write here instead of replacing the package");
  cmd->callback([options, &status] {
    auto result = Sign(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
