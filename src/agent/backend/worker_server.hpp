#pragma once

// `updatehub-worker`: serves one request of the daemon's WorkerBackend (worker_protocol.hpp) with
// the LocalBackend, then exits. SIGTERM or SIGINT abort a download in progress.

namespace uh::agent {

// Reads the request from stdin, writes log lines and the result to stdout. Returns the exit
// status: 0 when a result was written (an error result too), 2 when the request was unusable.
[[nodiscard]] int RunWorker();

}  // namespace uh::agent
