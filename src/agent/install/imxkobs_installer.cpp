// imxkobs: kobs-ng writes an i.MX boot stream to NAND. Upstream facts: kobs-ng must be on
// PATH; "kobs-ng init [-x] FILE [--search_exponent=N] [--chip_0_device_path=P]
// [--chip_1_device_path=P] -v", -x for 1k_padding, search_exponent only when above 0.
// The chip device paths are device paths, so they get the context's root like any other.

#include "agent/install/installers.hpp"
#include "agent/install/target.hpp"
#include "agent/install/tools.hpp"
#include "core/log.hpp"

namespace uh::agent {

Expected<void> ImxkobsInstaller::CheckRequirements(const package::Object& /*object*/,
                                                   const InstallContext& ctx) const {
  return RequireTools({"kobs-ng"}, ctx);
}

Expected<void> ImxkobsInstaller::Install(const package::Object& object,
                                         const InstallContext& ctx) const {
  std::vector<std::string> argv = {"kobs-ng", "init"};
  if (object.padding_1k.value_or(false)) argv.emplace_back("-x");
  argv.push_back(ctx.object_file.string());
  if (object.search_exponent.value_or(0) > 0) {
    argv.push_back("--search_exponent=" + std::to_string(*object.search_exponent));
  }
  const std::pair<const char*, const std::optional<std::string>*> chips[] = {
      {"--chip_0_device_path=", &object.chip_0_device_path},
      {"--chip_1_device_path=", &object.chip_1_device_path}};
  for (const auto& [option, value] : chips) {
    if (!*value) continue;
    auto path = RootedPath(ctx, **value);
    if (!path) return std::unexpected(std::move(path.error()).WithContext(option));
    argv.push_back(option + path->string());
  }
  argv.emplace_back("-v");
  auto ran = RunTool(std::move(argv), ctx);
  if (!ran) return std::unexpected(std::move(ran.error()));
  spdlog::info("{}: written with kobs-ng", ObjectLabel(object));
  return {};
}

}  // namespace uh::agent
