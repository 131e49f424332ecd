#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace uh {

Expected<void> SetupLogging(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return Fail(Errc::kInvalidArgument, "unknown log level '" + std::string(level) + "'");
  }
  auto logger = spdlog::stderr_color_mt("uh");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return {};
}

}  // namespace uh
