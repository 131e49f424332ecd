#include "agent/device/callbacks.hpp"

#include <system_error>

#include "agent/device/ini.hpp"
#include "agent/device/script_runner.hpp"

namespace uh::agent {

using device_internal::RunScriptForOutput;
using device_internal::ScriptOptions;
using device_internal::Trim;

namespace {

constexpr std::string_view kStateChange = "state-change-callback";
constexpr std::string_view kValidate = "validate-callback";
constexpr std::string_view kRollback = "rollback-callback";
constexpr std::string_view kError = "error-callback";

}  // namespace

ScriptOptions Callbacks::Quiet() const {
  ScriptOptions options;
  options.timeout = options_.timeout;
  options.output_matters = false;
  return options;
}

bool Callbacks::Present(std::string_view name) const {
  std::error_code error;
  // A dangling symlink or an unreadable directory counts as present: running it then fails
  // with a clear error instead of silently skipping a hook the device relies on.
  return std::filesystem::symlink_status(dir_ / name, error).type() !=
         std::filesystem::file_type::not_found;
}

Expected<CallbackAction> Callbacks::StateChange(std::string_view state) const {
  if (!Present(kStateChange)) return CallbackAction::kContinue;
  const std::string context = std::string(kStateChange) + " " + std::string(state);
  ScriptOptions options;
  options.timeout = options_.timeout;
  auto output = RunScriptForOutput({(dir_ / kStateChange).string(), std::string(state)}, options);
  if (!output) return std::unexpected(std::move(output.error()).WithContext(context));
  const auto answer = Trim(*output);
  if (answer.empty()) return CallbackAction::kContinue;
  if (answer == "cancel") return CallbackAction::kCancel;
  const std::string shown =
      answer.size() > 60 ? std::string(answer.substr(0, 60)) + "..." : std::string(answer);
  return Fail(Errc::kMalformed,
              context + ": printed '" + shown + "'; only 'cancel' or nothing is understood");
}

Expected<void> Callbacks::Validate() const {
  if (!Present(kValidate)) return {};
  auto output = RunScriptForOutput({(dir_ / kValidate).string()}, Quiet());
  if (!output) return std::unexpected(std::move(output.error()).WithContext(kValidate));
  return {};
}

Expected<void> Callbacks::Rollback() const {
  if (!Present(kRollback)) return {};
  auto output = RunScriptForOutput({(dir_ / kRollback).string()}, Quiet());
  if (!output) return std::unexpected(std::move(output.error()).WithContext(kRollback));
  return {};
}

Expected<void> Callbacks::ReportError(std::string_view message) const {
  if (!Present(kError)) return {};
  auto output = RunScriptForOutput({(dir_ / kError).string(), std::string(message)}, Quiet());
  if (!output) return std::unexpected(std::move(output.error()).WithContext(kError));
  return {};
}

}  // namespace uh::agent
