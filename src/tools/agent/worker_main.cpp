// updatehub-worker: does an update's work for the `updatehub` daemon (probe, download, signature
// check, install...), request by request, until the daemon closes its input. Not meant to be run
// by hand.

#include <unistd.h>

#include <iostream>
#include <string_view>

#include "agent/backend/worker_server.hpp"

namespace {

constexpr std::string_view kUsage =
    "Usage: updatehub-worker [--help | --version]\n"
    "An internal program of the UpdateHub agent, not meant to be run by hand: `updatehub daemon`\n"
    "starts it without arguments and sends it an update's work (probe, download, signature\n"
    "check, install) on its standard input.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    const std::string_view option = argv[1];
    if (argc == 2 && option == "--version") {
      std::cout << "updatehub-worker " UH_VERSION "\n";
      return 0;
    }
    if (argc == 2 && (option == "-h" || option == "--help")) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << kUsage;
    return 2;
  }
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "updatehub-worker: started by `updatehub daemon`, not by hand\n";
    return 2;
  }
  return uh::agent::RunWorker();
}
