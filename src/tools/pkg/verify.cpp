#include <filesystem>
#include <iostream>

#include "package/package_reader.hpp"
#include "tools/pkg/commands.hpp"
#include "tools/pkg/progress.hpp"

namespace uh::tools {
namespace {

struct VerifyOptions {
  std::filesystem::path package;
  std::filesystem::path key;
};

Expected<void> Verify(const VerifyOptions& options) {
  // Load the key first: a bad key file is the caller's mistake, not the package's.
  std::optional<package::PublicKey> key;
  if (!options.key.empty()) {
    auto loaded = package::PublicKey::Load(options.key);
    if (!loaded) return std::unexpected(loaded.error());
    key = std::move(*loaded);
  }
  auto pkg = package::PackageReader::Open(options.package);
  if (!pkg) return std::unexpected(pkg.error());
  if (key) {
    if (auto verified = pkg->VerifySignature(*key); !verified) {
      return std::unexpected(verified.error().WithContext(options.package.string()));
    }
  }
  {
    ProgressBar bar("verifying", pkg->objects_size());
    UH_TRY(pkg->CheckObjects([&](std::uint64_t done) { bar.Update(done); }));
  }
  std::cout << options.package.string() << ": OK\n"
            << "uid: " << pkg->uid() << "\n"
            << "signature: "
            << (key                ? "verified"
                : pkg->is_signed() ? "not checked (no --key)"
                                   : "none (unsigned)")
            << "\n";
  return {};
}

}  // namespace

void RegisterVerify(CLI::App& app, int& status) {
  auto options = std::make_shared<VerifyOptions>();
  auto* cmd = app.add_subcommand(
      "verify", "Check a package: structure, every object's size and sha256, and the signature");
  cmd->add_option("package", options->package, "Package file")->required();
  cmd->add_option("--key", options->key,
                  "Public key (PEM); without it the signature is not checked");
  cmd->footer(
      "Exit status: 0 valid, 3 malformed or objects mismatch, 4 signature, 1 other errors.");
  cmd->callback([options, &status] {
    auto result = Verify(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
