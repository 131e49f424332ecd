// updatehub-worker: does an update's work for the `updatehub` daemon (probe, download, signature
// check, install...), request by request, until the daemon closes its input. Not meant to be run
// by hand.

#include <unistd.h>

#include <iostream>

#include "agent/backend/worker_server.hpp"

int main() {
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "updatehub-worker: started by `updatehub daemon`, not by hand\n";
    return 2;
  }
  return uh::agent::RunWorker();
}
