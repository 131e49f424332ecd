#include <filesystem>
#include <iostream>

#include "package/package_reader.hpp"
#include "tools/pkg/commands.hpp"

namespace uh::tools {
namespace {

struct InspectOptions {
  std::filesystem::path package;
  bool json = false;
};

void PrintText(const package::PackageReader& pkg) {
  const auto& metadata = pkg.metadata();
  std::cout << "uid:      " << pkg.uid() << "\n"
            << "product:  " << metadata.product << "\n"
            << "version:  " << metadata.version << "\n"
            << "hardware: ";
  if (metadata.supported_hardware) {
    for (std::size_t i = 0; i < metadata.supported_hardware->size(); ++i) {
      std::cout << (i ? ", " : "") << (*metadata.supported_hardware)[i];
    }
  } else {
    std::cout << "any";
  }
  std::cout << "\nsigned:   " << (pkg.is_signed() ? "yes" : "no") << "\n"
            << "size:     " << pkg.objects_size() << " bytes in "
            << metadata.DistinctObjects().size() << " object(s)\n";
  for (std::size_t s = 0; s < metadata.sets.size(); ++s) {
    std::cout << "set "
              << (metadata.sets.size() == 1 ? std::string("(single)")
                                            : std::string(s == 0 ? "A" : "B"))
              << ":\n";
    for (const auto& object : metadata.sets[s]) {
      std::cout << "  - " << object.filename << "  " << package::ModeName(object.mode) << "  "
                << object.size << " bytes  sha256 " << object.sha256sum << "\n";
      const auto fields = package::ToJson(object);
      for (const auto& [key, value] : fields.items()) {
        if (key == "filename" || key == "mode" || key == "size" || key == "sha256sum") continue;
        std::cout << "      " << key << ": "
                  << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
      }
    }
  }
}

Expected<void> Inspect(const InspectOptions& options) {
  auto pkg = package::PackageReader::Open(options.package);
  if (!pkg) return std::unexpected(pkg.error());
  if (!options.json) {
    PrintText(*pkg);
    return {};
  }
  auto out = package::ToJson(pkg->metadata());
  out["uid"] = pkg->uid();
  out["signed"] = pkg->is_signed();
  out["size"] = pkg->objects_size();
  std::cout << out.dump(2) << "\n";
  return {};
}

}  // namespace

void RegisterInspect(CLI::App& app, int& status) {
  auto options = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Show a package's UID, product, version and objects");
  cmd->add_option("package", options->package, "Package file")->required();
  cmd->add_flag("--json", options->json,
                "Print one JSON object (uid, product, version, supported-hardware, objects, ...)");
  cmd->callback([options, &status] {
    auto result = Inspect(*options);
    status = result ? kExitOk : ReportError(result.error());
  });
}

}  // namespace uh::tools
