#pragma once

// `updatehub-worker`: serves the daemon's WorkerBackend (worker_protocol.hpp) with the
// LocalBackend, request after request, until its stdin ends. SIGTERM or SIGINT abort the request
// in progress (a download stops with kCancelled), after which it exits.

namespace uh::agent {

// Reads requests from stdin, writes log lines and results to stdout. Returns the exit status: 0
// at the end of the input or after an abort, 2 when the input cannot be read as requests (a line
// too long, cut off, or a read error; an error result says so first).
[[nodiscard]] int RunWorker();

}  // namespace uh::agent
