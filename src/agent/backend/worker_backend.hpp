#pragma once

// The backend the daemon runs with: each call is one `updatehub-worker` process
// (worker_protocol.hpp says what goes through its stdin and stdout), so that libcurl, OpenSSL and
// libarchive are only ever loaded while there is work for them, and the daemon that waits between
// probes stays small.
//
// The worker is the daemon's child in every way that matters to a device: it dies with the
// daemon (PR_SET_PDEATHSIG), so a daemon killed mid-download leaves no writer behind; an abort
// reaches it as SIGTERM, which it answers by stopping the download with kCancelled, keeping what
// arrived; its log lines are logged by the daemon (and so are in /log and in error reports).

#include <filesystem>
#include <memory>

#include "agent/backend/update_backend.hpp"

namespace uh::agent {

struct WorkerBackendOptions {
  std::filesystem::path program;  // the updatehub-worker executable
};

[[nodiscard]] std::unique_ptr<UpdateBackend> MakeWorkerBackend(WorkerBackendOptions options);

// updatehub-worker next to the running executable (the two are installed together).
[[nodiscard]] Expected<std::filesystem::path> FindWorkerProgram();

}  // namespace uh::agent
