#pragma once

// The backend the daemon runs with: the calls go to an `updatehub-worker` process
// (worker_protocol.hpp says what goes through its stdin and stdout), so that libcurl, OpenSSL and
// libarchive are only ever loaded while there is work for them, and the daemon that waits between
// probes stays small. The first call starts a worker; it serves every call after it (one update's
// probe, downloads, checks, installs and reports: one start, connections kept) until Release(),
// which the daemon calls before it waits. A worker that broke the protocol, died or was aborted
// is gone, and the next call starts a new one.
//
// The worker is the daemon's child in every way that matters to a device: it dies with the
// daemon (PR_SET_PDEATHSIG), so a daemon killed mid-download leaves no writer behind; an abort
// reaches it as SIGTERM, which it answers by stopping the download with kCancelled, keeping what
// arrived; its log lines are logged by the daemon (and so are in /log and in error reports).

#include <chrono>
#include <filesystem>
#include <memory>

#include "agent/backend/update_backend.hpp"

namespace uh::agent {

struct WorkerBackendOptions {
  std::filesystem::path program;  // the updatehub-worker executable
  // How long a worker told to exit (its stdin closed) may take before it is killed.
  std::chrono::milliseconds stop_grace{std::chrono::seconds(5)};
};

[[nodiscard]] std::unique_ptr<UpdateBackend> MakeWorkerBackend(WorkerBackendOptions options);

// updatehub-worker next to the running executable (the two are installed together).
[[nodiscard]] Expected<std::filesystem::path> FindWorkerProgram();

}  // namespace uh::agent
