#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "core/fs.hpp"
#include "package/signature.hpp"
#include "tools/pkg/commands.hpp"

namespace uh::tools {
namespace {

struct KeygenOptions {
  std::filesystem::path out;
  int bits = 4096;
  bool force = false;
};

Expected<void> Keygen(const KeygenOptions& options) {
  const auto private_path = options.out / "key.pem";
  const auto public_path = options.out / "key.pub";
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) return Fail(Errc::kIo, "creating " + options.out.string() + ": " + ec.message());
  if (!options.force) {
    for (const auto& path : {private_path, public_path}) {
      if (std::filesystem::exists(path)) {
        return Fail(Errc::kAlreadyExists,
                    path.string() + " exists; use --force to replace the key pair");
      }
    }
  }
  auto key = package::PrivateKey::Generate(options.bits);
  if (!key) return std::unexpected(key.error());
  UH_TRY(WriteFileAtomic(private_path, key->ToPkcs8Pem(), 0600));
  UH_TRY(WriteFileAtomic(public_path, key->PublicPem(), 0644));
  auto public_key = package::PublicKey::FromPem(key->PublicPem());
  if (!public_key) return std::unexpected(public_key.error());
  std::cout << "private key: " << private_path.string() << " (keep it secret)\n"
            << "public key:  " << public_path.string()
            << " (install it on devices as key.pub and register it on the server)\n"
            << "fingerprint: " << public_key->Fingerprint() << "\n";
  return {};
}

}  // namespace

void RegisterKeygen(CLI::App& app, int& status) {
  auto options = std::make_shared<KeygenOptions>();
  auto* cmd = app.add_subcommand("keygen", "Generate an RSA signing key pair (key.pem, key.pub)");
  cmd->add_option("--out", options->out, "Directory for key.pem and key.pub")->required();
  cmd->add_option("--bits", options->bits, "RSA key size")
      ->capture_default_str()
      ->check(CLI::Range(2048, 16384));
  cmd->add_flag("--force", options->force, "Replace an existing key pair");
  cmd->callback([options, &status] {
    auto result = Keygen(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
