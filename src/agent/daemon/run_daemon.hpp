#pragma once

// `updatehub daemon`: reads the config, starts the local API and runs the daemon until SIGTERM
// or SIGINT. Returns the process's exit status (0 when stopped by a signal, 1 when it could not
// start: a bad config says so with file, line and key).

#include <filesystem>
#include <string>

namespace uh::agent {

[[nodiscard]] int RunDaemon(const std::filesystem::path& config_file, const std::string& log_level);

}  // namespace uh::agent
