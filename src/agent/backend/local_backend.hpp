#pragma once

// The backend that does the work in the calling process: the libcurl client, OpenSSL, the
// package reader and the installers. Tests use it directly; `updatehub-worker` runs it for the
// daemon.

#include <memory>

#include "agent/backend/update_backend.hpp"

namespace uh::agent {

[[nodiscard]] std::unique_ptr<UpdateBackend> MakeLocalBackend();

}  // namespace uh::agent
