// uboot-env: the object becomes the U-Boot environment. Upstream facts: fw_setenv must be on
// PATH and support --script (its --help mentions it); install runs
// "fw_setenv -c /etc/fw_env.config --script FILE", then puts back the running installation set
// with "fw_setenv -c /etc/fw_env.config updatehub_active N", since the new environment carries
// its own default. /etc/fw_env.config gets the context's root like every system path.

#include <algorithm>
#include <cctype>

#include "agent/install/installers.hpp"
#include "agent/install/target.hpp"
#include "agent/install/tools.hpp"
#include "core/log.hpp"

namespace uh::agent {
namespace {

// The installation set running now: the context's, else updatehub-active-get's.
Expected<int> ActiveSet(const InstallContext& ctx) {
  if (ctx.active_set) {
    if (*ctx.active_set != 0 && *ctx.active_set != 1) {
      return Fail(Errc::kInvalidArgument, "active set must be 0 or 1");
    }
    return *ctx.active_set;
  }
  auto result = RunTool({"updatehub-active-get"}, ctx);
  if (!result) return std::unexpected(std::move(result.error()));
  std::string text = result->out;
  text.erase(
      std::remove_if(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }),
      text.end());
  if (text == "0" || text == "1") return text == "1" ? 1 : 0;
  return Fail(Errc::kMalformed,
              "updatehub-active-get printed '" + Tail(text, 64) + "', expected 0 or 1");
}

}  // namespace

Expected<void> UbootEnvInstaller::CheckRequirements(const package::Object& /*object*/,
                                                    const InstallContext& ctx) const {
  // Only the text matters: some fw_setenv builds exit non-zero after printing their help.
  auto help = RunToolAnyStatus({"fw_setenv", "--help"}, ctx);
  if (!help) return std::unexpected(std::move(help.error()));
  if (help->err.find("--script") == std::string::npos &&
      help->out.find("--script") == std::string::npos) {
    return Fail(Errc::kUnsupported, "fw_setenv does not support --script");
  }
  return {};
}

Expected<void> UbootEnvInstaller::Install(const package::Object& object,
                                          const InstallContext& ctx) const {
  auto config = RootedPath(ctx, "/etc/fw_env.config");
  if (!config) return std::unexpected(std::move(config.error()));
  auto active = ActiveSet(ctx);
  if (!active)
    return std::unexpected(std::move(active.error()).WithContext("reading the active set"));
  auto applied =
      RunTool({"fw_setenv", "-c", config->string(), "--script", ctx.object_file.string()}, ctx);
  if (!applied) return std::unexpected(std::move(applied.error()));
  auto restored = RunTool(
      {"fw_setenv", "-c", config->string(), "updatehub_active", std::to_string(*active)}, ctx);
  if (!restored) {
    return std::unexpected(std::move(restored.error()).WithContext("restoring updatehub_active"));
  }
  spdlog::info("{}: U-Boot environment replaced, updatehub_active kept at {}", ObjectLabel(object),
               *active);
  return {};
}

}  // namespace uh::agent
