#include "agent/backend/local_backend.hpp"

#include <memory>
#include <optional>
#include <system_error>

#include "agent/backend/piped_install.hpp"
#include "core/fs.hpp"
#include "core/hash.hpp"
#include "package/package_reader.hpp"
#include "package/signature.hpp"

namespace uh::agent {
namespace {

DownloadControl ControlOf(const std::atomic<bool>& abort) {
  DownloadControl control;
  control.abort = &abort;
  return control;
}

class LocalBackend final : public UpdateBackend {
 public:
  void Release() override {
    client_.reset();
    client_options_.reset();
  }

  Expected<ProbeResult> Probe(const ClientOptions& server, const nlohmann::json& device_fields,
                              int retries) override {
    auto client = ClientFor(server);
    if (!client) return std::unexpected(std::move(client).error());
    return (*client)->Probe(device_fields, retries);
  }

  Expected<void> Report(const ClientOptions& server, const nlohmann::json& device_fields,
                        const ReportRequest& report) override {
    auto client = ClientFor(server);
    if (!client) return std::unexpected(std::move(client).error());
    return (*client)->Report(device_fields, report);
  }

  Expected<void> DownloadObject(const ClientOptions& server, const ObjectDownload& download,
                                const std::atomic<bool>& abort) override {
    auto client = ClientFor(server);
    if (!client) return std::unexpected(std::move(client).error());
    return (*client)->DownloadObject(download, ControlOf(abort));
  }

  Expected<void> DownloadUrl(const ClientOptions& server, const std::string& url,
                             const std::filesystem::path& dest, const std::atomic<bool>& abort,
                             std::uint64_t max_size) override {
    auto client = ClientFor(server);
    if (!client) return std::unexpected(std::move(client).error());
    return (*client)->DownloadUrl(url, dest, ControlOf(abort), max_size);
  }

  Expected<std::string> PackageUid(const std::string& metadata) override {
    return Sha256Hex(metadata);
  }

  Expected<void> VerifySignature(const std::filesystem::path& public_key,
                                 const std::string& metadata,
                                 const std::string& signature) override {
    auto key = package::PublicKey::Load(public_key);
    if (!key) return std::unexpected(key.error().WithContext("key.pub"));
    if (!key->VerifyBase64(metadata, signature)) {
      return Fail(Errc::kSignature, "the signature does not verify with key.pub");
    }
    return {};
  }

  Expected<UnpackedPackage> UnpackPackage(const std::filesystem::path& file,
                                          const std::filesystem::path& dir) override {
    auto reader = OpenPackage(file);
    if (!reader) return std::unexpected(std::move(reader).error());
    UH_TRY_CTX(CheckFreeSpace(dir, reader->objects_size()), "download dir");
    for (const auto* object : reader->metadata().DistinctObjects()) {
      UH_TRY(WriteObject(*reader, *object, dir / object->sha256sum));
    }
    return Head(*reader);
  }

  Expected<UnpackedPackage> ReadPackage(const std::filesystem::path& file) override {
    auto reader = OpenPackage(file);
    if (!reader) return std::unexpected(std::move(reader).error());
    return Head(*reader);
  }

  Expected<void> ExtractObject(const std::filesystem::path& file, const package::Object& object,
                               const std::filesystem::path& dest) override {
    auto reader = OpenPackage(file);
    if (!reader) return std::unexpected(std::move(reader).error());
    UH_TRY_CTX(CheckFreeSpace(dest.parent_path(), object.size), "download dir");
    return WriteObject(*reader, object, dest);
  }

  Expected<void> VerifyObjectFile(const std::filesystem::path& file,
                                  const package::Object& object) override {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return Fail(Errc::kNotFound, file.string() + ": " + ec.message());
    if (size != object.size) {
      return Fail(Errc::kIntegrity, object.filename + ": " + std::to_string(size) +
                                        " bytes on disk, " + std::to_string(object.size) +
                                        " expected");
    }
    auto hash = Sha256File(file);
    if (!hash) return std::unexpected(hash.error());
    if (hash->sha256 != object.sha256sum) {
      return Fail(Errc::kIntegrity,
                  object.filename + ": sha256 " + hash->sha256 + ", expected " + object.sha256sum);
    }
    return {};
  }

  Expected<void> CheckRequirements(const package::Object& object,
                                   const InstallContext& ctx) override {
    return uh::agent::CheckRequirements(object, ctx);
  }

  Expected<bool> AlreadyInstalled(const package::Object& object,
                                  const InstallContext& ctx) override {
    return uh::agent::AlreadyInstalled(object, ctx);
  }

  Expected<void> Install(const package::Object& object, const InstallContext& ctx) override {
    return uh::agent::Install(object, ctx);
  }

  Expected<void> StreamInstall(const ClientOptions& server, const ObjectDownload& download,
                               const package::Object& object, const InstallContext& ctx,
                               const std::atomic<bool>& abort) override {
    auto client = ClientFor(server);
    if (!client) return std::unexpected(std::move(client).error());
    return PipedInstall(DownloadFeed(**client, download, abort), object, ctx, abort);
  }

  Expected<void> InstallFromPackage(const std::filesystem::path& file,
                                    const package::Object& object, const InstallContext& ctx,
                                    const std::atomic<bool>& abort) override {
    auto reader = OpenPackage(file);
    if (!reader) return std::unexpected(std::move(reader).error());
    const ObjectFeed feed = [&](const Client::ObjectConsumer& consume) -> Expected<void> {
      return reader->ReadObject(object.sha256sum,
                                [&](std::span<const std::byte> bytes) -> Expected<void> {
                                  if (abort.load()) return Fail(Errc::kCancelled, "aborted");
                                  return consume(bytes);
                                });
    };
    auto installed = PipedInstall(feed, object, ctx, abort);
    if (!installed) return std::unexpected(installed.error().WithContext(object.filename));
    return {};
  }

  Expected<void> VerifyStreamed(const package::Object& object, const StreamTarget& target,
                                const InstallContext& ctx) override {
    return uh::agent::VerifyStreamed(object, target, ctx);
  }

 private:
  static Expected<package::PackageReader> OpenPackage(const std::filesystem::path& file) {
    auto reader = package::PackageReader::Open(file);
    if (!reader && reader.error().message().find(file.string()) == std::string::npos) {
      return std::unexpected(reader.error().WithContext(file.string()));
    }
    return reader;
  }

  static UnpackedPackage Head(const package::PackageReader& reader) {
    return UnpackedPackage{reader.metadata_bytes(), reader.signature(), reader.uid()};
  }

  // The object, checked, into `dest`, which appears only whole.
  static Expected<void> WriteObject(const package::PackageReader& reader,
                                    const package::Object& object,
                                    const std::filesystem::path& dest) {
    auto out = AtomicFile::Create(dest);
    if (!out) return std::unexpected(out.error());
    UH_TRY_CTX(reader.ReadObject(
                   object.sha256sum,
                   [&](std::span<const std::byte> bytes) { return out->file().WriteAll(bytes); }),
               object.filename);
    return out->Commit();
  }

  // One client per server, kept across calls: probe, downloads and reports reuse its
  // connection.
  Expected<Client*> ClientFor(const ClientOptions& server) {
    if (!client_ || client_options_ != server) {
      client_.reset();
      auto made = MakeClient(server);
      if (!made) return std::unexpected(std::move(made).error());
      client_ = std::move(*made);
      client_options_ = server;
    }
    return client_.get();
  }

  std::unique_ptr<Client> client_;
  std::optional<ClientOptions> client_options_;
};

}  // namespace

std::unique_ptr<UpdateBackend> MakeLocalBackend() { return std::make_unique<LocalBackend>(); }

}  // namespace uh::agent
