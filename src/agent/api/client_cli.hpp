#pragma once

// `updatehub client`: asks the running agent through its local HTTP API.
//
//   updatehub client [--daemon-address HOST:PORT] [--json-output] COMMAND
//     info                        the agent's state, version, config, firmware, runtime settings
//     log [-w|--watch]            the recent log; --watch follows it (polling every second)
//     probe [--server URL]        probe the server now (optionally another server)
//     abort-download              abort the download in progress
//     install-package PATH|URL [--no-wait]
//                                 install a local package file or one at an http(s) URL, and
//                                 wait for the verdict (install_watch.hpp): exit 0 once it is
//                                 installed, 1 with the reason when it is refused or fails;
//                                 --no-wait returns once the agent accepted the request
//
// Upstream's option is --daemon-address; --address is accepted too. Global options may also
// follow the command. Exit status: 0 done, 1 failed or refused (agent unreachable or busy,
// nothing to abort...), 2 bad usage.

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace uh::agent {

inline constexpr std::string_view kDefaultDaemonAddress = "localhost:8080";

struct ClientRunOptions {
  std::chrono::milliseconds watch_interval{1000};
  // Asked after every poll of `log --watch`; true ends the watch (exit 0). Unset: watch until
  // killed.
  std::function<bool()> stop_watching;
  std::chrono::milliseconds request_timeout{30'000};
  // Probes and installs wait for the agent's state machine, which may take long.
  std::chrono::milliseconds action_timeout{600'000};
  // install-package: how often the log is read, and how long to wait for the verdict.
  std::chrono::milliseconds install_poll_interval{250};
  std::chrono::milliseconds install_wait{std::chrono::hours(1)};
};

// `args` are the arguments after "client", e.g. {"--json-output", "info"}. Results go to `out`,
// problems to `err`. Returns the exit status.
[[nodiscard]] int RunClient(const std::vector<std::string>& args, std::ostream& out,
                            std::ostream& err, const ClientRunOptions& options = {});

}  // namespace uh::agent
