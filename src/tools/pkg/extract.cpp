#include <filesystem>
#include <iostream>
#include <set>

#include "core/fs.hpp"
#include "core/hash.hpp"
#include "package/package_reader.hpp"
#include "tools/pkg/commands.hpp"
#include "tools/pkg/progress.hpp"

namespace uh::tools {
namespace {

struct ExtractOptions {
  std::filesystem::path package;
  std::filesystem::path to;
  bool by_sha256 = false;
};

// A file name from the metadata is used only if it cannot leave the directory nor take the
// name of another member (objects fall back to their sha256 names, so those are reserved).
bool IsSafeName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name != "metadata" &&
         !IsLowerHexSha256(name) && name != "signature" && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name.size() < 256;
}

Expected<void> Extract(const ExtractOptions& options) {
  auto pkg = package::PackageReader::Open(options.package);
  if (!pkg) return std::unexpected(pkg.error());
  std::error_code ec;
  std::filesystem::create_directories(options.to, ec);
  if (ec) return Fail(Errc::kIo, "creating " + options.to.string() + ": " + ec.message());
  UH_TRY(CheckFreeSpace(options.to, pkg->objects_size() + pkg->metadata_bytes().size()));

  UH_TRY(WriteFileAtomic(options.to / "metadata", pkg->metadata_bytes()));
  UH_TRY(WriteFileAtomic(options.to / "signature", pkg->signature()));
  std::set<std::string> used;
  ProgressBar bar("extracting", pkg->objects_size());
  std::uint64_t base = 0;
  for (const package::Object* object : pkg->metadata().DistinctObjects()) {
    std::string name = object->sha256sum;
    if (!options.by_sha256 && IsSafeName(object->filename) && !used.contains(object->filename)) {
      name = object->filename;
    }
    used.insert(name);
    auto out = AtomicFile::Create(options.to / name);
    if (!out) return std::unexpected(out.error());
    bar.SetBase(base);
    UH_TRY(pkg->ReadObject(
        object->sha256sum,
        [&](std::span<const std::byte> bytes) { return out->file().WriteAll(bytes); },
        [&](std::uint64_t done) { bar.Update(done); }));
    UH_TRY(out->Commit());
    base += object->size;
    bar.Finish();
    std::cout << (options.to / name).string() << "  " << object->sha256sum << "\n";
  }
  return {};
}

}  // namespace

void RegisterExtract(CLI::App& app, int& status) {
  auto options = std::make_shared<ExtractOptions>();
  auto* cmd = app.add_subcommand(
      "extract", "Write a package's metadata, signature and objects into a directory");
  cmd->add_option("package", options->package, "Package file")->required();
  cmd->add_option("--to", options->to, "Destination directory")->required();
  cmd->add_flag("--by-sha256", options->by_sha256,
                "Name objects by sha256 (default: by file name when it is safe and unique)");
  cmd->callback([options, &status] {
    auto result = Extract(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
